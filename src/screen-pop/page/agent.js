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
  const MAX_NOTES = 4000; // as the server accepts
  let pinned = ''; // a call the agent brought back to the card from the recent list
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
      // For pages that embed the card (src/embed/): what came before this was the replay.
      document.dispatchEvent(new CustomEvent('vncc:ready', { detail: info }));
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
    if (update.lookup && (!call.lookup || call.lookup.status === 'pending' || update.lookup.status !== 'pending')) call.lookup = withCreated(call, update.lookup);
    if (update.activity) call.activity = update.activity;
    if (update.display) call.display = update.display;
    if (update.labels) call.labels = update.labels;
    if (update.group) call.group = update.group;
    if (update.offers) call.offers = update.offers;
    if (update.wrapUp) call.wrapUp = newerWrapUp(call.wrapUp, update.wrapUp);
    calls.set(key, call);
    if (!known) pinned = ''; // a new call takes the card; drafts stay with their call
    trim();
    scheduleRender();
    alertAgent(call);
    // For pages that embed the card (src/embed/): each update and the call as merged so far.
    document.dispatchEvent(new CustomEvent('vncc:update', { detail: { update: update, call: call } }));
  }

  /** A contact created from this card stays the call's record even if an older lookup result arrives after it. */
  function withCreated(call, lookup) {
    if (!call.created || lookup.status !== 'done' || lookup.matches.some((m) => m.id === call.created.id)) return lookup;
    return Object.assign({}, lookup, { matches: [call.created].concat(lookup.matches) });
  }

  const WRAP_UP_RANK = { saved: 0, failed: 1, logged: 2, updated: 2 };
  /** The later save wins; for one save, its later state (saved → logged), whichever arrives first (response or stream). */
  function newerWrapUp(known, next) {
    if (!known || next.savedAt > known.savedAt) return next;
    if (next.savedAt === known.savedAt && (WRAP_UP_RANK[next.state] || 0) >= (WRAP_UP_RANK[known.state] || 0)) return next;
    return known;
  }

  function trim() {
    const all = sorted();
    for (const call of all.slice(MAX_CALLS)) calls.delete(call.key);
  }

  function sorted() {
    return [...calls.values()].sort((a, b) => b.record.startedAt - a.record.startedAt);
  }

  /** The extension that took this customer call when it was not this one (ring group, queue). */
  function answeredElsewhere(call) {
    const by = call.group && call.group.answeredBy;
    if (!by || by.extension === call.record.extension) return undefined;
    if (call.record.outcome === 'talking' || call.record.outcome === 'answered') return undefined;
    return by;
  }

  function isLive(call) {
    return (call.record.outcome === 'ringing' || call.record.outcome === 'talking') && !answeredElsewhere(call);
  }

  function current() {
    if (pinned && calls.has(pinned)) return calls.get(pinned);
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

  /** The connection as people call it (its displayName), else its key. */
  function connectionName(call, key) {
    return (call.labels && call.labels.connection) || key || '';
  }

  function extensionName(call, by) {
    return by.label || by.extension;
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
    const by = answeredElsewhere(call);
    if (by) return 'Answered by ' + extensionName(call, by);
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
    if (answeredElsewhere(call)) return '';
    if (r.outcome === 'ringing') return clock((now - r.startedAt) / 1000);
    if (r.outcome === 'talking') return clock((now - (r.answeredAt || r.startedAt)) / 1000);
    if (r.talkSeconds !== undefined) return 'talked ' + clock(r.talkSeconds);
    if (r.ringSeconds !== undefined) return 'rang ' + clock(r.ringSeconds);
    return '';
  }

  function timeOfDay(ms) {
    return new Date(ms - skewMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function day(value) {
    const d = new Date(value);
    return isNaN(d.getTime()) ? String(value) : d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
  }

  function lookupLine(call) {
    const l = call.lookup;
    if (!l) return '';
    const where = l.connection ? ' in ' + connectionName(call, l.connection) : '';
    switch (l.status) {
      case 'pending': return 'Looking up' + where + '…';
      case 'done': return l.matches.length ? (l.matches.length > 1 ? l.matches.length + ' records' : 'Found') + where : 'No record' + where;
      case 'error': return 'The CRM lookup failed (' + (l.reason || 'error') + '); the number is shown as sent.';
      case 'timeout': return 'The CRM did not answer in time.';
      case 'skipped': return 'Not looked up: ' + (l.reason || 'no number');
      default: return '';
    }
  }

  /** "MobilePhone" / "mobile_phone" → "Mobile phone": why a record matched, in words. */
  function words(name) {
    const spaced = String(name).replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase();
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  function why(match) {
    return match.matchedOn ? words(match.matchedOn.object) + ' · ' + words(match.matchedOn.field) : '';
  }

  function matchText(m) {
    return m.displayName + (m.company ? ' · ' + m.company : '') + ' (' + m.recordType + ')';
  }

  /** "Open opportunities" → "2 open opportunities", "1 open opportunity" (the CRM's labels are English plurals). */
  function countable(label, count) {
    const lower = label.charAt(0).toLowerCase() + label.slice(1);
    return count === 1 ? lower.replace(/ies$/, 'y').replace(/s$/, '') : lower;
  }

  /** Owner, last activity and the open deals/cases of the best match: what the agent should know first. */
  function facts(call, best) {
    const out = [];
    const line = [best.ownerName ? 'Owner: ' + best.ownerName : '', best.lastActivityAt ? 'Last activity ' + day(best.lastActivityAt) : ''].filter(Boolean).join(' · ');
    if (line) out.push(el('p', { class: 'facts', text: line }));
    const context = (best.context || []).filter((c) => c.count > 0);
    if (context.length) {
      out.push(el('ul', { class: 'context', 'aria-label': 'About this record' }, context.map((c) => {
        const items = c.items || [];
        const li = el('li', { dataset: { kind: c.kind } }, [document.createTextNode(c.count + ' ' + countable(c.label, c.count) + (items.length ? ': ' : ''))]);
        items.forEach((item, i) => {
          if (i) li.append(document.createTextNode(', '));
          li.append(link(item.url, item.name, item.name + ' in ' + connectionName(call, best.connection) + ' (new tab)'));
        });
        if (items.length && c.count > items.length) li.append(document.createTextNode(', …'));
        return li;
      })));
    }
    return out;
  }

  /** The card: a part redrawn on every update, and the call's forms, kept across updates so typing is never lost. */
  function cardParts() {
    const card = $('card');
    let info = card.querySelector(':scope > .card-info');
    let slot = card.querySelector(':scope > .card-forms');
    if (!info) {
      info = el('div', { class: 'card-info' });
      slot = el('div', { class: 'card-forms' });
      card.replaceChildren(info, slot);
    }
    return { card: card, info: info, slot: slot };
  }

  function renderCard(call) {
    if (!call) return;
    const { card, info, slot } = cardParts();
    const r = call.record;
    const elsewhere = answeredElsewhere(call);
    card.dataset.state = elsewhere ? 'elsewhere' : r.outcome === 'ringing' ? 'ringing' : r.outcome === 'talking' ? 'talking' : 'ended';
    card.dataset.call = call.key;
    const best = call.lookup && call.lookup.matches[0];
    const party = remoteParty(call);
    const unknown = call.lookup && call.lookup.status === 'done' && !best;
    const number = call.display.number || r.remoteNumber;
    const extLabel = call.labels && call.labels.extension;
    const lines = [
      pinned === call.key ? el('p', { class: 'pinned' }, [backButton()]) : null,
      el('p', { class: 'status' }, [
        el('span', { class: 'state', text: stateLabel(call) }),
        el('span', { class: 'direction', text: r.direction === 'inbound' ? 'Incoming call' : 'Outgoing call' }),
        el('span', { class: 'timer', role: 'timer', 'aria-live': 'off', text: timerText(call) }),
      ]),
      el('h2', { class: 'caller', text: title(call) }),
      best && best.company ? el('p', { class: 'company', text: best.company }) : null,
      unknown && party.name ? el('p', { class: 'company', text: 'Caller ID name: ' + party.name }) : null,
      number ? el('p', { class: 'number', text: number }) : null,
      el('p', { class: 'line', text: 'On line ' + (extLabel ? extLabel + ' · ' : '') + r.extension + (r.callee.did && r.direction === 'inbound' ? ' · dialled ' + (call.display.did || r.callee.did) : '') }),
      el('p', { class: 'lookup', text: lookupLine(call) }),
    ];
    if (best) lines.push(...facts(call, best));
    if (call.lookup && call.lookup.matches.length) {
      const several = call.lookup.matches.length > 1;
      lines.push(el('ol', { class: 'records', 'aria-label': several ? 'CRM records, best match first' : 'CRM record' }, call.lookup.matches.map((m) =>
        el('li', {}, [
          link(m.url, matchText(m), 'Open ' + m.displayName + ' in ' + connectionName(call, m.connection) + ' (new tab)'),
          why(m) ? el('span', { class: 'why', text: why(m) }) : null,
        ]),
      )));
    }
    if (unknown && call.lookup.newContactUrl && !(call.offers && call.offers.createContact)) {
      lines.push(el('p', {}, [link(call.lookup.newContactUrl, 'Create contact', 'Create a contact for this caller in ' + connectionName(call, call.lookup.connection) + ' (new tab)')]));
      lines[lines.length - 1].firstChild.classList.add('new-contact');
    }
    if (call.activity) {
      const where = connectionName(call, call.activity.connection);
      lines.push(el('p', { class: 'activity' }, [
        document.createTextNode('Logged in ' + where + ': '),
        call.activity.url ? link(call.activity.url, 'Open the call activity', 'Open the logged call in ' + where + ' (new tab)') : el('span', { text: call.activity.id }),
      ]));
    }
    info.replaceChildren(...lines.filter(Boolean));
    const ui = formsOf(call);
    // Moving a node that holds focus would drop the focus (and the agent's typing): only swap on a change of call.
    if (slot.firstChild !== ui.root) slot.replaceChildren(ui.root);
    updateForms(call);
  }

  function backButton() {
    const b = el('button', { type: 'button', class: 'back', text: 'Back to the latest call' });
    b.addEventListener('click', () => {
      pinned = '';
      render();
      $('current').focus();
    });
    return b;
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
      const show = el('button', { type: 'button', class: 'show', text: call.offers && call.offers.wrapUp ? 'Wrap up' : 'Show', 'aria-label': (call.offers && call.offers.wrapUp ? 'Wrap up' : 'Show') + ' the call with ' + title(call) + ' at ' + timeOfDay(r.startedAt) });
      show.addEventListener('click', () => {
        pinned = call.key;
        render();
        $('current').focus();
      });
      return el('li', { dataset: { call: call.key } }, [
        el('span', { class: 'when', text: timeOfDay(r.startedAt) }),
        who,
        el('span', { class: 'what', text: (r.direction === 'inbound' ? '↓ ' : '↑ ') + stateLabel(call).replace('Ended · ', '') + (timerText(call) && !isLive(call) ? ' · ' + timerText(call) : '') }),
        show,
      ]);
    }));
  }

  // ---- the call's forms: create contact, wrap-up ----------------------------------------------------
  let formSeq = 0;

  /** The call's forms, built once per call: they keep what the agent typed while updates redraw the card. */
  function formsOf(call) {
    if (call.ui) return call.ui;
    const n = ++formSeq;
    const ui = { n: n, dirty: false, busy: false, dispositionsKey: null, recordsKey: null };

    ui.contactName = el('input', { type: 'text', id: 'contact-name-' + n, maxlength: '256', autocomplete: 'off' });
    ui.contactName.value = remoteParty(call).name || '';
    ui.contactNumber = el('p', { class: 'hint' });
    ui.contactButton = el('button', { type: 'submit', class: 'primary', text: 'Create contact' });
    ui.contactState = el('p', { class: 'result', role: 'status' });
    ui.contact = el('form', { class: 'create-contact', 'aria-labelledby': 'contact-heading-' + n, novalidate: '' }, [
      el('h3', { id: 'contact-heading-' + n, text: 'Create contact' }),
      el('label', { for: 'contact-name-' + n, text: 'Name' }),
      ui.contactName,
      ui.contactNumber,
      el('p', { class: 'buttons' }, [ui.contactButton]),
      ui.contactState,
    ]);
    ui.contact.addEventListener('submit', (e) => {
      e.preventDefault();
      createContact(call);
    });

    ui.records = el('fieldset', { class: 'belongs' });
    ui.notes = el('textarea', { id: 'notes-' + n, rows: '4', maxlength: String(MAX_NOTES) });
    ui.disposition = el('select', { id: 'disposition-' + n });
    ui.save = el('button', { type: 'submit', class: 'primary', text: 'Save' });
    ui.saveLog = el('button', { type: 'submit', class: 'save-log', text: 'Save and log now', dataset: { done: '1' } });
    ui.state = el('p', { class: 'saved', role: 'status' });
    ui.error = el('p', { class: 'error', role: 'alert' });
    ui.wrapUp = el('form', { class: 'wrap-up', 'aria-labelledby': 'wrap-up-heading-' + n, novalidate: '' }, [
      el('h3', { id: 'wrap-up-heading-' + n, text: 'Wrap-up' }),
      ui.records,
      el('p', { class: 'field' }, [el('label', { for: 'notes-' + n, text: 'Notes' }), ui.notes]),
      el('p', { class: 'field' }, [el('label', { for: 'disposition-' + n, text: 'Disposition' }), ui.disposition]),
      el('p', { class: 'buttons' }, [ui.save, ui.saveLog]),
      ui.state,
      ui.error,
    ]);
    const touched = () => {
      ui.dirty = true;
      if (!ui.busy) ui.state.textContent = savedText(call);
    };
    ui.wrapUp.addEventListener('input', touched);
    ui.wrapUp.addEventListener('change', touched);
    ui.wrapUp.addEventListener('submit', (e) => {
      e.preventDefault();
      saveWrapUp(call, Boolean(e.submitter && e.submitter.dataset.done));
    });

    ui.root = el('div', { class: 'forms' }, [ui.contact, ui.wrapUp]);
    call.ui = ui;
    syncFromWrapUp(call);
    return ui;
  }

  /** Updates the forms in place (never replacing a field the agent may be typing in). */
  function updateForms(call) {
    const ui = call.ui;
    const offers = call.offers || {};
    const lookup = call.lookup;
    const unknown = lookup && lookup.status === 'done' && lookup.matches.length === 0;
    ui.contact.hidden = !(unknown && offers.createContact);
    if (!ui.contact.hidden) {
      const number = call.display.number || call.record.remoteNumber;
      ui.contactNumber.textContent = number ? 'Number: ' + number : '';
      if (!ui.contactName.value && remoteParty(call).name && document.activeElement !== ui.contactName) ui.contactName.value = remoteParty(call).name;
    }
    ui.contactButton.disabled = ui.busy;

    ui.wrapUp.hidden = !offers.wrapUp;
    if (ui.wrapUp.hidden) return;
    updateDispositions(call);
    updateRecordChoice(call);
    if (!ui.dirty) syncFromWrapUp(call);
    const logged = Boolean(call.activity) || (call.wrapUp && (call.wrapUp.state === 'logged' || call.wrapUp.state === 'updated'));
    ui.saveLog.hidden = logged;
    ui.save.textContent = logged ? 'Save (updates the CRM)' : 'Save';
    ui.save.disabled = ui.saveLog.disabled = ui.busy;
    if (!ui.busy) ui.state.textContent = savedText(call);
    ui.wrapUp.dataset.state = call.wrapUp ? call.wrapUp.state : 'new';
  }

  function updateDispositions(call) {
    const ui = call.ui;
    const list = (call.offers && call.offers.dispositions) || [];
    const key = JSON.stringify(list);
    if (key === ui.dispositionsKey) return;
    ui.dispositionsKey = key;
    const value = ui.disposition.value;
    ui.disposition.replaceChildren(el('option', { value: '', text: list.length ? '— choose —' : 'none offered' }), ...list.map((d) => el('option', { value: d.key, text: d.label })));
    ui.disposition.value = list.some((d) => d.key === value) ? value : '';
    ui.disposition.disabled = list.length === 0;
  }

  /** Several matches: which one the call belongs to (preselected: the saved choice, else the best match). */
  function updateRecordChoice(call) {
    const ui = call.ui;
    const matches = (call.lookup && call.lookup.matches) || [];
    const key = matches.map((m) => m.id).join('\n');
    if (key === ui.recordsKey) return;
    ui.recordsKey = key;
    ui.records.hidden = matches.length < 2;
    const previous = checkedRecord(ui);
    const saved = call.wrapUp && call.wrapUp.recordId;
    const choice = [previous, saved, matches[0] && matches[0].id].find((id) => id && matches.some((m) => m.id === id));
    ui.records.replaceChildren(el('legend', { text: 'This call belongs to' }), ...matches.map((m, i) => {
      const id = 'record-' + ui.n + '-' + i;
      const radio = el('input', { type: 'radio', name: 'record-' + ui.n, id: id, value: m.id });
      radio.checked = m.id === choice;
      return el('p', { class: 'choice' }, [radio, el('label', { for: id }, [document.createTextNode(matchText(m)), why(m) ? el('span', { class: 'why', text: why(m) }) : null])]);
    }));
  }

  function checkedRecord(ui) {
    const radio = ui.records.querySelector('input[type="radio"]:checked');
    return radio ? radio.value : undefined;
  }

  /** The saved wrap-up into the form, when the agent has nothing unsaved in it. */
  function syncFromWrapUp(call) {
    const ui = call.ui;
    const w = call.wrapUp;
    if (!w) return;
    ui.notes.value = w.notes || '';
    if (w.disposition === undefined || [...ui.disposition.options].some((o) => o.value === w.disposition)) ui.disposition.value = w.disposition || '';
    if (w.recordId) for (const radio of ui.records.querySelectorAll('input[type="radio"]')) radio.checked = radio.value === w.recordId;
  }

  function savedText(call) {
    const w = call.wrapUp;
    if (!w) return '';
    const by = (w.by && w.by !== call.record.extension ? ' (saved on ' + w.by + ')' : '') + (call.ui && call.ui.dirty ? ' · your changes below are not saved yet' : '');
    switch (w.state) {
      case 'saved': {
        const logsAt = call.offers && call.offers.logsAt;
        if (w.done) return 'Saved — logging now…' + by;
        return (logsAt ? 'Saved — logged with the call at ' + timeOfDay(logsAt) : 'Saved — logged with the call when it ends') + by;
      }
      case 'logged': return 'Logged' + by;
      case 'updated': return 'Updated in the CRM' + by;
      case 'failed': return 'Could not be written: ' + (w.reason || 'the CRM refused it') + by;
      default: return '';
    }
  }

  /** JSON to the card's write endpoints, authorised by the link's token in a header (never the URL or a cookie). */
  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      cache: 'no-store',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || 'the connector answered ' + res.status);
    return data;
  }

  async function saveWrapUp(call, done) {
    const ui = call.ui;
    if (ui.busy) return;
    const body = { callId: call.record.callId, extension: call.record.extension, notes: ui.notes.value };
    // Always sent: '' ("— choose —") clears a disposition saved before.
    if (!ui.disposition.disabled) body.disposition = ui.disposition.value;
    const recordId = ui.records.hidden ? undefined : checkedRecord(ui);
    if (recordId) body.recordId = recordId;
    else if (call.created) body.recordId = call.created.id;
    if (done) body.done = true;
    const sent = formValues(ui);
    ui.busy = true;
    ui.error.textContent = '';
    ui.state.textContent = 'Saving…';
    updateForms(call);
    try {
      const view = await post('agent/calls/wrap-up', body);
      call.wrapUp = newerWrapUp(call.wrapUp, view);
      // Typed while the save was on its way: still unsaved.
      if (formValues(ui) === sent) ui.dirty = false;
    } catch (err) {
      ui.error.textContent = 'Not saved: ' + errorText(err);
    } finally {
      ui.busy = false;
      scheduleRender();
    }
  }

  function formValues(ui) {
    return JSON.stringify([ui.notes.value, ui.disposition.value, checkedRecord(ui) || '']);
  }

  async function createContact(call) {
    const ui = call.ui;
    if (ui.busy) return;
    ui.busy = true;
    ui.contactState.textContent = 'Creating…';
    updateForms(call);
    try {
      const match = await post('agent/calls/contact', { callId: call.record.callId, extension: call.record.extension, name: ui.contactName.value.trim() || undefined });
      call.created = match;
      call.lookup = withCreated(call, Object.assign({ status: 'done', connection: match.connection, matches: [] }, call.lookup, { status: 'done' }));
      ui.contactState.textContent = '';
      announce('Contact created: ' + match.displayName + '.');
    } catch (err) {
      ui.contactState.textContent = 'Not created: ' + errorText(err);
    } finally {
      ui.busy = false;
      scheduleRender();
    }
  }

  function errorText(err) {
    return err instanceof TypeError ? 'the connector could not be reached. Try again.' : err.message;
  }

  /** A one-off message for screen readers (the card's own region is redrawn with the new record). */
  function announce(text) {
    $('announce').textContent = text;
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
    if (call.record.outcome !== 'ringing' || answeredElsewhere(call) || opened.has(call.key)) return;
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
