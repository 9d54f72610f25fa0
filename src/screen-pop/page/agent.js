// The agent's screen-pop page. Plain browser JavaScript, no build step, no dependencies.
// Everything that comes from a call or a CRM is put in the page with textContent (never
// innerHTML): caller names and CRM records are data from outside, not markup.
'use strict';

(function () {
  const token = new URLSearchParams(location.search).get('token') || '';
  const $ = (id) => document.getElementById(id);
  const calls = new Map(); // `${callId}|${extension}` → merged state of the call
  const opened = new Set(); // calls whose record was auto-opened or notified, so it happens once
  const MAX_CALLS = 30;
  let skewMs = 0; // server clock minus ours, so timers count from the server's timestamps
  let lastEventId = '';
  let source;
  let retryMs = 1000;

  const OUTCOME = { answered: 'Answered', missed: 'Missed', busy: 'Busy', cancelled: 'Cancelled', failed: 'Failed' };

  // ---- stream ----------------------------------------------------------------------------------
  function connect() {
    const query = new URLSearchParams({ token });
    // The browser resends Last-Event-ID itself while it reconnects; after it gave up (an error
    // status), this page reconnects with a new EventSource, which needs the id in the URL.
    if (lastEventId) query.set('lastEventId', lastEventId);
    source = new EventSource('agent/stream?' + query.toString());
    source.addEventListener('ready', (e) => {
      lastEventId = e.lastEventId;
      retryMs = 1000;
      const info = JSON.parse(e.data);
      skewMs = info.serverTime - Date.now();
      $('extensions').textContent = info.extensions.join(', ');
      $('expiry').textContent = info.expiresAt ? 'This link works until ' + new Date(info.expiresAt).toLocaleString() + '.' : '';
      setConnection('live', 'Live');
    });
    source.addEventListener('update', (e) => {
      lastEventId = e.lastEventId;
      receive(JSON.parse(e.data));
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        checkLink();
      } else {
        setConnection('reconnecting', 'Reconnecting…');
      }
    };
  }

  // The stream was refused: find out whether the link is refused (say why, stop) or the server is away (retry).
  async function checkLink() {
    try {
      const res = await fetch('agent/session?' + new URLSearchParams({ token }), { cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        const body = await res.json().catch(() => ({}));
        setConnection('refused', body.message || 'This link is not valid any more.');
        return;
      }
    } catch (err) {
      // unreachable: retry below
    }
    setConnection('down', 'Connection lost. Retrying in ' + Math.round(retryMs / 1000) + ' s…');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }

  function setConnection(state, text) {
    const el = $('connection');
    el.dataset.state = state;
    el.textContent = text;
  }

  // ---- call state ------------------------------------------------------------------------------
  function receive(update) {
    const key = update.record.callId + '|' + update.record.extension;
    const known = calls.get(key);
    const call = known || { key: key, record: update.record, lookup: undefined, activity: undefined, display: {} };
    // Updates of one call may overtake each other (a late lookup result after the Answer): keep
    // the record that has seen the most events, and a final lookup over a pending one.
    if (!known || update.record.events.length >= call.record.events.length) call.record = update.record;
    if (update.lookup && (!call.lookup || call.lookup.status === 'pending' || update.lookup.status !== 'pending')) call.lookup = update.lookup;
    if (update.activity) call.activity = update.activity;
    if (update.display) call.display = update.display;
    calls.set(key, call);
    trim();
    scheduleRender();
    alertAgent(call);
  }

  function trim() {
    const all = sorted();
    for (const call of all.slice(MAX_CALLS)) calls.delete(call.key);
  }

  function sorted() {
    return [...calls.values()].sort((a, b) => b.record.startedAt - a.record.startedAt);
  }

  function isLive(call) {
    return call.record.outcome === 'ringing' || call.record.outcome === 'talking';
  }

  function current() {
    const all = sorted();
    return all.find(isLive) || all[0];
  }

  // ---- rendering -------------------------------------------------------------------------------
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /** Only http(s) links from the CRM are followed; anything else (javascript:, data:) is shown as text. */
  function safeUrl(url) {
    if (!url) return undefined;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
    } catch (err) {
      return undefined;
    }
  }

  function link(url, text, label) {
    const href = safeUrl(url);
    if (!href) return el('span', { text: text });
    return el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: text, 'aria-label': label });
  }

  function remoteParty(call) {
    const r = call.record;
    return r.direction === 'inbound' ? r.caller : r.callee;
  }

  function title(call) {
    const best = call.lookup && call.lookup.matches[0];
    if (best) return best.displayName;
    const lookup = call.lookup && call.lookup.status;
    if (lookup === 'done') return 'Unknown caller';
    const name = remoteParty(call).name;
    if (name) return name;
    return call.display.number || call.record.remoteNumber || (call.record.direction === 'inbound' ? 'Anonymous caller' : 'Outgoing call');
  }

  function stateLabel(call) {
    const r = call.record;
    if (r.outcome === 'ringing') return r.direction === 'inbound' ? 'Ringing' : 'Calling';
    if (r.outcome === 'talking') return 'Talking';
    return 'Ended · ' + (OUTCOME[r.outcome] || r.outcome);
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
    const ss = String(s % 60).padStart(2, '0');
    return (h ? h + ':' : '') + mm + ':' + ss;
  }

  function timerText(call) {
    const r = call.record;
    const now = Date.now() + skewMs;
    if (r.outcome === 'ringing') return clock((now - r.startedAt) / 1000);
    if (r.outcome === 'talking') return clock((now - (r.answeredAt || r.startedAt)) / 1000);
    if (r.talkSeconds !== undefined) return 'talked ' + clock(r.talkSeconds);
    if (r.ringSeconds !== undefined) return 'rang ' + clock(r.ringSeconds);
    return '';
  }

  function lookupLine(call) {
    const l = call.lookup;
    if (!l) return '';
    const where = l.connection ? ' in ' + l.connection : '';
    switch (l.status) {
      case 'pending': return 'Looking up' + where + '…';
      case 'done': return l.matches.length ? (l.matches.length > 1 ? l.matches.length + ' records' : 'Found') + where : 'No record' + where;
      case 'error': return 'The CRM lookup failed (' + (l.reason || 'error') + '); the number is shown as sent.';
      case 'timeout': return 'The CRM did not answer in time.';
      case 'skipped': return 'Not looked up: ' + (l.reason || 'no number');
      default: return '';
    }
  }

  function renderCard(call) {
    const card = $('card');
    if (!call) return;
    const r = call.record;
    card.dataset.state = r.outcome === 'ringing' ? 'ringing' : r.outcome === 'talking' ? 'talking' : 'ended';
    card.dataset.call = call.key;
    const best = call.lookup && call.lookup.matches[0];
    const party = remoteParty(call);
    const unknown = call.lookup && call.lookup.status === 'done' && !best;
    const number = call.display.number || r.remoteNumber;
    const lines = [
      el('p', { class: 'status' }, [
        el('span', { class: 'state', text: stateLabel(call) }),
        el('span', { class: 'direction', text: r.direction === 'inbound' ? 'Incoming call' : 'Outgoing call' }),
        el('span', { class: 'timer', role: 'timer', 'aria-live': 'off', text: timerText(call) }),
      ]),
      el('h2', { class: 'caller', text: title(call) }),
      best && best.company ? el('p', { class: 'company', text: best.company }) : null,
      unknown && party.name ? el('p', { class: 'company', text: 'Caller ID name: ' + party.name }) : null,
      number ? el('p', { class: 'number', text: number }) : null,
      el('p', { class: 'line', text: 'On line ' + r.extension + (r.callee.did && r.direction === 'inbound' ? ' · dialled ' + (call.display.did || r.callee.did) : '') }),
      el('p', { class: 'lookup', text: lookupLine(call) }),
    ];
    if (call.lookup && call.lookup.matches.length) {
      lines.push(el('ul', { class: 'records', 'aria-label': 'CRM records' }, call.lookup.matches.map((m) =>
        el('li', {}, [link(m.url, m.displayName + (m.company ? ' · ' + m.company : '') + ' (' + m.recordType + ')', 'Open ' + m.displayName + ' in ' + m.connection + ' (new tab)')]),
      )));
    }
    if (unknown && call.lookup.newContactUrl) {
      lines.push(el('p', {}, [link(call.lookup.newContactUrl, 'Create contact', 'Create a contact for this caller in ' + call.lookup.connection + ' (new tab)')]));
      lines[lines.length - 1].firstChild.classList.add('new-contact');
    }
    if (call.activity) {
      lines.push(el('p', { class: 'activity' }, [
        document.createTextNode('Logged in ' + call.activity.connection + ': '),
        call.activity.url ? link(call.activity.url, 'Open the call activity', 'Open the logged call in ' + call.activity.connection + ' (new tab)') : el('span', { text: call.activity.id }),
      ]));
    }
    card.replaceChildren(...lines.filter(Boolean));
  }

  function renderRecent(now) {
    const list = $('recent');
    const others = sorted().filter((c) => c !== now);
    $('recent-empty').hidden = others.length > 0;
    list.replaceChildren(...others.map((call) => {
      const r = call.record;
      const best = call.lookup && call.lookup.matches[0];
      const who = el('span', { class: 'who' }, [
        best && safeUrl(best.url) ? link(best.url, best.displayName, 'Open ' + best.displayName + ' (new tab)') : el('span', { text: title(call) }),
        document.createTextNode(' · ' + (call.display.number || r.remoteNumber || 'no number')),
      ]);
      return el('li', { dataset: { call: call.key } }, [
        el('span', { class: 'when', text: new Date(r.startedAt - skewMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }),
        who,
        el('span', { class: 'what', text: (r.direction === 'inbound' ? '↓ ' : '↑ ') + stateLabel(call).replace('Ended · ', '') + (timerText(call) && !isLive(call) ? ' · ' + timerText(call) : '') }),
      ]);
    }));
  }

  // Updates that arrive together (a ring group, a reconnect's replay) are drawn once, at the next frame.
  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      render();
    });
  }

  function render() {
    const now = current();
    renderCard(now);
    renderRecent(now);
  }

  // Only the timer changes every second; the rest re-renders when an update arrives.
  setInterval(() => {
    const call = current();
    const timer = document.querySelector('#card .timer');
    if (call && timer && isLive(call)) timer.textContent = timerText(call);
  }, 1000);

  // ---- auto-open and notifications --------------------------------------------------------------
  function alertAgent(call) {
    if (call.record.outcome !== 'ringing' || opened.has(call.key)) return;
    const best = call.lookup && call.lookup.matches[0];
    const final = call.lookup && call.lookup.status !== 'pending';
    if (!final) return; // wait for the lookup's result, which arrives as a second update
    opened.add(call.key);
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      const n = new Notification((call.record.direction === 'inbound' ? 'Incoming call: ' : 'Calling: ') + title(call), {
        body: [best && best.company, call.display.number || call.record.remoteNumber].filter(Boolean).join(' · '),
        tag: call.key,
      });
      n.onclick = () => { window.focus(); n.close(); };
    }
    if ($('auto-open').checked && best && safeUrl(best.url)) {
      // Browsers allow a new tab without a click only once the user allowed pop-ups for this
      // site; when blocked, say how to allow it.
      const w = window.open(safeUrl(best.url), '_blank');
      if (w) w.opener = null;
      else showHint('The browser blocked the new tab. Allow pop-ups for this site (the icon at the end of the address bar) and the record will open by itself.');
    }
  }

  function showHint(text) {
    const hint = $('auto-open-hint');
    hint.textContent = text;
    hint.hidden = !text;
  }

  const autoOpen = $('auto-open');
  autoOpen.checked = localStorage.getItem('vncc.autoOpen') === '1';
  autoOpen.addEventListener('change', () => {
    localStorage.setItem('vncc.autoOpen', autoOpen.checked ? '1' : '0');
    showHint(autoOpen.checked ? 'The first time, your browser may ask you to allow pop-ups for this page.' : '');
  });

  const notify = $('notify');
  function notifyState() {
    if (!('Notification' in window)) {
      notify.disabled = true;
      $('notify-state').textContent = 'This browser cannot show notifications.';
      return;
    }
    const p = Notification.permission;
    $('notify-state').textContent = p === 'granted' ? 'On.' : p === 'denied' ? 'Blocked in the browser settings for this site.' : '';
    notify.hidden = p === 'granted';
  }
  notify.addEventListener('click', () => Notification.requestPermission().then(notifyState));
  notifyState();

  if (!token) {
    setConnection('refused', 'This page needs a signed agent link (…/agent?token=…).');
  } else {
    connect();
  }
})();
