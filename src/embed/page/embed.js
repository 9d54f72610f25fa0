// The card inside a CRM: binds the panel to the agent's extensions once, loads the agent page's
// own script (agent.js) to draw the card, and turns the card's updates into pop decisions that a
// small CRM adapter (salesforce.js, hubspot.js) carries out. Everything CRM-neutral is here, so
// replacing a CRM surface (Open CTI is retired in 2028) means replacing only its adapter.
// Plain browser JavaScript, no build step. Caller and CRM data are data, never markup.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse(document.querySelector('meta[name="vncc-embed"]').content);
  const STORAGE_KEY = 'vncc.panel.' + config.crm; // the panel key, kept across browser sessions
  // A browser that blocks storage for embedded pages (a private window, third-party cookies
  // blocked) throws on localStorage: the panel then keeps its key for this page only, and says so.
  const storageBlocked = !usable('localStorage');
  const localStore = storageBlocked ? memoryStore() : localStorage;
  const sessionStore = usable('sessionStorage') ? sessionStorage : memoryStore();
  // agent.js keeps its options in localStorage too: give it the page-only store rather than an exception.
  if (storageBlocked) Object.defineProperty(window, 'localStorage', { value: localStore, configurable: true });
  const NOTE_KEY = 'vncc.panel.note'; // a message to show after a reload (revoked binding)
  const handlers = { pop: [], update: [], session: [] };
  const calls = new Map(); // call key → the call as agent.js merged it
  const decided = new Set(); // calls whose pop was decided: each call pops once
  let live = false; // false while the stream replays what happened before the panel connected
  let session;
  let checkTimer;

  function usable(name) {
    try {
      window[name].getItem(STORAGE_KEY);
      return true;
    } catch (err) {
      return false;
    }
  }

  function memoryStore() {
    const m = new Map();
    return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
  }

  // A token left in the URL by an earlier session is stale: agent.js must only see the one we set.
  setToken(undefined);

  function setToken(token) {
    const url = new URL(location.href);
    if (token) url.searchParams.set('token', token);
    else url.searchParams.delete('token');
    history.replaceState(history.state, '', url.toString());
  }

  function say(text) {
    const el = $('vncc-crm-state');
    el.textContent = text;
    el.hidden = !text;
  }

  // ---- binding ---------------------------------------------------------------------------------
  function showBind(message) {
    $('vncc-agent').hidden = true;
    $('vncc-bind').hidden = false;
    $('vncc-bind-state').textContent = message || '';
    handlers.session.forEach((h) => h(undefined));
  }

  $('vncc-bind-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $('vncc-code').value.trim();
    $('vncc-bind-state').textContent = 'Connecting…';
    try {
      const res = await fetch('embed/pair', { method: 'POST', cache: 'no-store', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: code }) });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        $('vncc-bind-state').textContent = body.message || 'The connector answered ' + res.status + '.';
        return;
      }
      localStore.setItem(STORAGE_KEY, body.key);
      $('vncc-code').value = '';
      $('vncc-bind-state').textContent = '';
      await start();
    } catch (err) {
      $('vncc-bind-state').textContent = 'The connector could not be reached. Try again.';
    }
  });

  /** Trades the panel key for a session; undefined when the binding is gone (the panel then asks for a code). */
  async function fetchSession() {
    const key = localStore.getItem(STORAGE_KEY);
    if (!key) return { gone: true };
    const res = await fetch('embed/session', { method: 'POST', cache: 'no-store', headers: { authorization: 'Bearer ' + key } });
    if (res.status === 401) {
      const body = await res.json().catch(() => ({}));
      return { gone: true, message: body.message };
    }
    if (!res.ok) throw new Error('the connector answered ' + res.status);
    return { session: await res.json() };
  }

  let retryMs = 1000;
  async function start() {
    let got;
    try {
      got = await fetchSession();
    } catch (err) {
      say('The connector cannot be reached. Retrying…');
      setTimeout(start, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
      return;
    }
    if (got.gone) {
      localStore.removeItem(STORAGE_KEY);
      const note = sessionStore.getItem(NOTE_KEY);
      sessionStore.removeItem(NOTE_KEY);
      return showBind(note || got.message || '');
    }
    say(storageBlocked ? 'This browser does not let the panel remember its pairing (private window, or third-party cookies blocked): it will ask for a new code after a reload. Allow cookies for the connector\'s site to keep it paired.' : '');
    session = got.session;
    setToken(session.token);
    $('vncc-bind').hidden = true;
    $('vncc-agent').hidden = false;
    const script = document.createElement('script');
    script.src = 'agent/assets/agent.js';
    document.head.appendChild(script);
    handlers.session.forEach((h) => h(session));
    scheduleCheck();
    scheduleRenewal();
    watchRefusal();
  }

  /**
   * Asks now and then whether the binding still holds (and picks up mapping changes). A revoked
   * binding forgets its key and reloads: the reload ends the stream and shows the pairing form.
   */
  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(async () => {
      try {
        const got = await fetchSession();
        if (got.gone) return unbind(got.message);
        session.policies = got.session.policies;
      } catch (err) {
        // the connector is away: the stream says so; check again later
      }
      scheduleCheck();
    }, session.checkSeconds * 1000);
  }

  function unbind(message) {
    localStore.removeItem(STORAGE_KEY);
    sessionStore.setItem(NOTE_KEY, message || 'This panel was disconnected from your phone by your administrator.');
    location.reload();
  }

  /** The stream token is short-lived: shortly before it expires, reload with a new one unless a call is on. */
  function scheduleRenewal() {
    if (!session.expiresAt) return;
    const due = Math.max(new Date(session.expiresAt).getTime() - Date.now() - 5 * 60000, 10000);
    setTimeout(function renew() {
      if (liveCall()) return setTimeout(renew, 30000);
      location.reload();
    }, Math.min(due, 2 ** 31 - 1));
  }

  /** agent.js says "refused" when its token is no longer accepted: renew once, not in a loop. */
  function watchRefusal() {
    const el = $('connection');
    new MutationObserver(() => {
      if (el.dataset.state !== 'refused') return;
      const last = Number(sessionStore.getItem('vncc.panel.renewedAt') || 0);
      if (Date.now() - last < 60000) return;
      sessionStore.setItem('vncc.panel.renewedAt', String(Date.now()));
      location.reload();
    }).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  }

  // ---- pops ------------------------------------------------------------------------------------
  function isLive(call) {
    const r = call.record;
    if (r.outcome !== 'ringing' && r.outcome !== 'talking') return false;
    const by = call.group && call.group.answeredBy;
    return !(by && by.extension !== r.extension && r.outcome === 'ringing');
  }

  function liveCall() {
    for (const call of calls.values()) if (isLive(call)) return call;
    return undefined;
  }

  /** CRM type of each connection the panel's extensions use (from the session). */
  function crmOf(connection) {
    for (const p of Object.values(session.policies || {})) if (p.connection === connection) return p.crm;
    return undefined;
  }

  /** The remote party's number as digits with its leading +, from the formatted number when there is one. */
  function numberOf(call) {
    const shown = (call.display && call.display.number) || call.record.remoteNumber || '';
    return shown.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  }

  /**
   * Decides a call's pop once its lookup has an answer, while the call is still live: the
   * one record, several, an unknown caller to create (only when the mapping leaves creating it
   * to the agent: unknownCaller log-without-contact), or nothing. Matches from another CRM than
   * the panel's never pop (their ids mean nothing here).
   */
  function consider(call) {
    if (decided.has(call.key) || !isLive(call)) return;
    const lookup = call.lookup;
    if (!lookup || lookup.status === 'pending') return;
    decided.add(call.key);
    const policy = (session.policies || {})[call.record.extension] || {};
    const ours = lookup.connection && crmOf(lookup.connection) === config.crm;
    const matches = ours && lookup.status === 'done' ? lookup.matches : [];
    let kind = 'none';
    if (matches.length === 1) kind = 'record';
    else if (matches.length > 1) kind = 'several';
    else if (ours && lookup.status === 'done' && call.record.direction === 'inbound' && policy.unknownCaller === 'log-without-contact' && numberOf(call)) kind = 'unknown';
    const decision = {
      kind: kind,
      /** The call's lookup ran in this panel's CRM: the call belongs to its world. */
      ours: Boolean(ours),
      call: call,
      direction: call.record.direction,
      matches: matches,
      number: numberOf(call),
      callerName: ((call.record.direction === 'inbound' ? call.record.caller : call.record.callee).name || '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 120),
      externalCallId: externalCallId(call.record.callId),
    };
    handlers.pop.forEach((h) => h(decision));
  }

  /** The connector's key of the customer call (as src/calls/activity-keys.ts builds it): `vn-` + the escaped CallID. */
  function externalCallId(callId) {
    return 'vn-' + callId.replace(/[^A-Za-z0-9.]/g, (c) => '~' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
  }

  const MAX_CALLS = 50; // agent.js keeps 30; a panel open for days must not keep every call
  document.addEventListener('vncc:update', (e) => {
    const detail = e.detail;
    calls.set(detail.call.key, detail.call);
    if (calls.size > MAX_CALLS) {
      const oldest = calls.keys().next().value;
      calls.delete(oldest);
      decided.delete(oldest);
    }
    handlers.update.forEach((h) => h(detail.update, detail.call, live));
    if (live) consider(detail.call);
  });

  // What the stream sent before `ready` was the replay of the last minute: each of those calls is
  // judged once, as it stands now (a call that rang and ended before the panel opened never pops).
  document.addEventListener('vncc:ready', () => {
    live = true;
    for (const call of calls.values()) consider(call);
  });

  /** The call and match behind a record link on the card (the agent chose a record). */
  function matchByUrl(href) {
    for (const call of calls.values()) {
      const lookup = call.lookup;
      if (!lookup || !lookup.connection || crmOf(lookup.connection) !== config.crm) continue;
      const match = lookup.matches.find((m) => m.url && new URL(m.url, location.href).href === href);
      if (match) return { call: call, match: match };
    }
    return undefined;
  }

  window.vnccEmbed = Object.freeze({
    config: config,
    onPop: (h) => handlers.pop.push(h),
    onUpdate: (h) => handlers.update.push(h),
    onSession: (h) => {
      handlers.session.push(h);
      if (session) h(session);
    },
    crmOf: (connection) => (session ? crmOf(connection) : undefined),
    externalCallId: externalCallId,
    numberOf: numberOf,
    matchByUrl: matchByUrl,
    say: say,
  });

  start();
})();
