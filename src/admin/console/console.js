'use strict';
// The ops console: plain DOM over the admin API. The admin token is typed once, kept in this tab's
// sessionStorage and sent as Authorization: Bearer (never a cookie), so no other site can make the
// browser act with it. Everything shown comes from the API as text (no innerHTML of data).
(() => {
  const TOKEN_KEY = 'vncc-admin-token';
  const VIEWS = ['overview', 'inbox', 'mappings', 'links', 'calls'];
  const BOOLEAN_ACTIONS = ['popOnDialIn', 'popOnDialOut', 'logAnswered', 'logMissed', 'logOutbound', 'skipInternal', 'followUpMissed'];
  const CHOICE_ACTIONS = { unknownCaller: ['log-without-contact', 'create-contact', 'ignore'], callLogging: ['per-call', 'per-extension'] };
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let mappings; // the last GET /admin/mappings (its version guards saves)

  // ---- small helpers -----------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'checked' || k === 'value') el[k] = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
  const time = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
  function say(text, kind) {
    const el = $('status');
    el.textContent = text || '';
    el.dataset.kind = kind || 'info';
  }

  class ApiError extends Error {
    constructor(status, data) {
      super((data && (Array.isArray(data.message) ? data.message.join('; ') : data.message)) || 'HTTP ' + status);
      this.status = status;
      this.data = data || {};
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: 'Bearer ' + token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // credentials: 'omit': nothing ambient (cookies, cached Basic auth) goes with the console's requests.
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) {
      signOut('The admin token was refused (' + (data.message || 'unauthorised') + '). Type it again.');
      throw new ApiError(401, data);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  /** Runs an action, showing its error in the status line instead of leaving the page silent. */
  async function attempt(fn) {
    try {
      return await fn();
    } catch (err) {
      if (err.status !== 401) say(err.message, 'error');
      return undefined;
    }
  }

  // ---- sign-in and navigation --------------------------------------------------------------------
  function signOut(message) {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    showView();
    $('signin-error').textContent = message || '';
  }

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    $('token').value = '';
    $('signin-error').textContent = '';
    try {
      await api('GET', 'overview');
    } catch (err) {
      if (err.status !== 401) $('signin-error').textContent = err.message;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    if (!VIEWS.includes(location.hash.slice(1))) location.hash = '#overview';
    showView();
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out: the token is forgotten in this tab.'));

  function showView() {
    const signedIn = !!token;
    const name = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
    $('nav').hidden = !signedIn;
    $('sign-out').hidden = !signedIn;
    $('view-signin').hidden = signedIn;
    for (const v of VIEWS) $('view-' + v).hidden = !signedIn || v !== name;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!signedIn) {
      $('token').focus();
      return;
    }
    say('');
    LOADERS[name]();
    refreshInboxCount();
  }
  // The section already shown: its link reloads it (no hashchange fires).
  for (const a of document.querySelectorAll('#nav a')) {
    a.addEventListener('click', () => {
      if (location.hash === '#' + a.dataset.view) showView();
    });
  }
  window.addEventListener('hashchange', () => {
    showView();
    const heading = document.querySelector('#view-' + location.hash.slice(1) + ' h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  });

  // ---- overview ----------------------------------------------------------------------------------
  async function loadOverview(fresh) {
    const o = await attempt(() => api('GET', 'overview' + (fresh ? '?fresh=true' : '')));
    if (!o) return;
    $('overview-at').textContent = 'as of ' + when(o.at);
    const rows = o.connections.map((c) =>
      h('tr', { dataset: { connection: c.name } },
        h('th', { scope: 'row' }, c.displayName, c.displayName !== c.name ? h('span', { class: 'muted' }, ' (' + c.name + ')') : null),
        h('td', {}, c.type || ''),
        h('td', {}, h('span', { class: 'state state-' + c.state.replace(/\s+/g, '-') }, stateText(c))),
        h('td', {}, c.health.detail || (c.health.ok ? 'reachable' : ''), h('div', { class: 'muted small' }, 'checked ' + when(c.health.checkedAt))),
        h('td', {}, budgetText(c.budget)),
        h('td', {}, c.state === 'paused'
          ? h('button', { type: 'button', onclick: () => connectionAction(c.name, 'resume') }, 'Resume')
          : h('button', { type: 'button', class: 'quiet', onclick: () => connectionAction(c.name, 'pause') }, 'Pause 1 h')),
      ),
    );
    $('connections').tBodies[0].replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 6 }, 'No connections are configured.'))]));
    const counts = (label, c) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, c.logged), h('td', {}, c.skipped), h('td', {}, c.failed));
    $('call-counts').tBodies[0].replaceChildren(counts('Last hour', o.calls.lastHour), counts('Last 24 hours', o.calls.lastDay));
    $('counted-since').textContent = o.calls.countedSince ? 'Counted over the recent-calls list, which reaches back to ' + when(o.calls.countedSince) + '.' : 'Counted over the recent-calls list.';
    $('queues').tBodies[0].replaceChildren(
      ...Object.entries(o.queues).map(([name, q]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, q.waiting + (q.prioritized || 0)), h('td', {}, q.active), h('td', {}, q.delayed), h('td', {}, q.failed))),
    );
    const pages = o.agentPages;
    const watched = !pages.watched ? pages.note || '' : pages.watched.length ? 'Extensions with a page open on any instance:' : 'No extension has a page open.';
    $('agent-pages').textContent = pages.onThisInstance + ' page stream(s) on this instance. ' + watched;
    $('agent-extensions').replaceChildren(...(pages.watched || []).map((w) => h('li', {}, w.extension)));
  }

  function stateText(c) {
    if (c.state === 'paused') return 'Paused until ' + when(c.pausedUntil) + (c.pauseReason ? ' (' + c.pauseReason + ')' : '');
    if (c.state === 'credentials failing') return 'Credentials failing';
    if (c.state === 'failing') return 'Not reachable';
    return 'Ready';
  }

  function budgetText(b) {
    if (!b) return '—';
    const parts = [h('div', {}, 'this second: ' + b.thisSecond.used + ' of ' + b.thisSecond.of)];
    if (b.today) parts.push(h('div', {}, 'today: ' + b.today.used + ' of ' + b.today.of + ' (' + b.today.left + ' left)'));
    parts.push(h('div', { class: 'muted small' }, 'budget ' + b.limit));
    return parts;
  }

  async function connectionAction(name, action) {
    const done = await attempt(() => api('POST', 'connections/' + encodeURIComponent(name) + '/' + action, action === 'pause' ? { minutes: 60 } : {}));
    if (done) say(action === 'pause' ? name + ': call logging paused until ' + when(done.until) + '.' : name + ': call logging resumed.');
    await loadOverview();
  }
  $('overview-refresh').addEventListener('click', () => loadOverview());
  $('overview-check').addEventListener('click', () => loadOverview(true));

  // ---- unlogged-calls inbox ----------------------------------------------------------------------
  async function refreshInboxCount() {
    const inbox = await api('GET', 'unlogged').catch(() => undefined);
    if (!inbox) return;
    $('inbox-count').hidden = inbox.total === 0;
    $('inbox-count').textContent = String(inbox.total);
    return inbox;
  }

  async function loadInbox() {
    const inbox = await attempt(() => refreshInboxCount());
    if (!inbox) return;
    const groups = inbox.groups.map(renderGroup);
    $('inbox-groups').replaceChildren(...(groups.length ? groups : [h('p', { class: 'empty' }, 'Every call was logged: nothing to do.')]));
  }

  function callSummary(call) {
    if (!call) return 'call record expired';
    const remote = call.remoteNumber || (call.direction === 'inbound' ? call.caller.number : call.callee.number) || 'no number';
    return (call.direction === 'inbound' ? 'from ' : 'to ') + remote + ' · ' + call.outcome + (call.talkSeconds ? ' · talked ' + call.talkSeconds + ' s' : '');
  }

  function renderGroup(group) {
    const id = 'group-' + group.category;
    const boxes = [];
    const rows = group.calls.map((c) => {
      const box = h('input', { type: 'checkbox', value: c.jobId, 'aria-label': 'Select call ' + c.callId + ' on ' + c.extension });
      boxes.push(box);
      return h('tr', { dataset: { job: c.jobId } },
        h('td', {}, box),
        h('td', {}, when(c.at)),
        h('td', { class: 'mono' }, c.callId),
        h('td', { class: 'mono' }, c.extension),
        h('td', {}, callSummary(c.call)),
        h('td', {}, c.connection || '—'),
        h('td', { class: 'reason' }, c.reason, c.attempts ? h('div', { class: 'muted small' }, 'attempts: ' + c.attempts) : null),
        h('td', {}, c.replayable ? 'yes' : h('span', { class: 'muted' }, 'no')),
      );
    });
    const all = h('input', { type: 'checkbox', id: id + '-all', onchange: (e) => boxes.forEach((b) => (b.checked = e.target.checked)) });
    const reason = h('input', { id: id + '-reason', placeholder: 'why (kept on the call)', size: 28 });
    const selected = () => boxes.filter((b) => b.checked).map((b) => b.value);
    return h('section', { class: 'group', 'aria-labelledby': id + '-title', dataset: { category: group.category } },
      h('h3', { id: id + '-title' }, group.label + ' ', h('span', { class: 'badge' }, group.calls.length)),
      h('p', { class: 'muted' }, group.hint),
      h('div', { class: 'row' },
        all, h('label', { for: id + '-all' }, 'Select all'),
        h('button', { type: 'button', onclick: () => replay(selected()) }, 'Replay selected'),
        h('label', { for: id + '-reason' }, 'Discard reason'), reason,
        h('button', { type: 'button', class: 'danger', onclick: () => discard(selected(), reason.value) }, 'Discard selected'),
      ),
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['', 'When', 'CallID', 'Extension', 'Call', 'Connection', 'Reason', 'Replayable'].map((t, i) => h('th', { scope: 'col' }, i === 0 ? h('span', { class: 'sr-only' }, 'Select') : t)))),
        h('tbody', {}, rows),
      )),
    );
  }

  async function replay(ids) {
    if (!ids.length) return say('Select the calls to replay first.', 'error');
    const result = await attempt(() => api('POST', 'unlogged/replay', { ids }));
    if (!result) return;
    const list = $('replay-results');
    for (const r of result.refused) list.prepend(h('p', { class: 'result refused', dataset: { job: r.jobId, outcome: 'refused' } }, r.jobId + ': not replayed, ' + r.why + '.'));
    say(result.replayed.length + ' call(s) replayed' + (result.refused.length ? ', ' + result.refused.length + ' refused' : '') + '. Results appear below as they land.');
    await Promise.all(result.replayed.map((r) => watchReplay(r.jobId, r.at, list)));
    await loadInbox();
  }

  /** Polls the replayed job until it has a newer outcome, and says what it was. */
  async function watchReplay(jobId, at, list) {
    const line = h('p', { class: 'result pending', dataset: { job: jobId, outcome: 'pending' } }, jobId + ': replaying…');
    list.prepend(line);
    for (let i = 0; i < 120; i++) {
      const r = await api('GET', 'unlogged/' + encodeURIComponent(jobId)).catch(() => undefined);
      const log = r && r.log;
      if (r && (r.state === 'completed' || r.state === 'failed') && log && log.at >= at) {
        line.dataset.outcome = log.status;
        line.className = 'result ' + log.status;
        line.textContent = 'Call ' + r.callId + ' on ' + r.extension + ': ' + describeLog(log) + '.';
        return;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    line.textContent = jobId + ': still running; see Recent calls for its outcome.';
  }

  async function discard(ids, reason) {
    if (!ids.length) return say('Select the calls to discard first.', 'error');
    if (reason.trim().length < 3) return say('Say why these calls are discarded (at least 3 characters).', 'error');
    const result = await attempt(() => api('POST', 'unlogged/discard', { ids, reason }));
    if (!result) return;
    say(result.discarded.length + ' call(s) discarded' + (result.refused.length ? '; not discarded: ' + result.refused.map((r) => r.jobId + ' (' + r.why + ')').join(', ') : '') + '.');
    await loadInbox();
  }
  $('inbox-refresh').addEventListener('click', () => loadInbox());

  // ---- what happened to a call -------------------------------------------------------------------
  function describeLog(log) {
    if (!log) return 'not logged yet';
    switch (log.status) {
      case 'logged':
        return 'logged in ' + log.connection + (log.activity ? ' as ' + log.activity.id + (log.activity.created === false ? ' (it was already there)' : '') : '');
      case 'updated':
        return 'logged in ' + log.connection + ', updated with the wrap-up';
      case 'skipped':
        return 'not logged: ' + log.reason;
      case 'failed':
        return 'failed: ' + log.reason;
      case 'discarded':
        return 'discarded by ops: ' + log.reason;
      default:
        return log.status;
    }
  }

  function describePop(pop) {
    if (!pop) return 'no card';
    if (pop.status === 'skipped') return 'not popped: ' + pop.reason;
    const lookup = pop.lookup === 'done' ? (pop.matchIds && pop.matchIds.length ? 'matched ' + pop.matchIds.join(', ') : 'no CRM record matched') : 'lookup ' + pop.lookup + (pop.reason ? ' (' + pop.reason + ')' : '');
    return 'popped on ' + pop.event + (pop.connection ? ' · ' + pop.connection : '') + ' · ' + lookup;
  }

  // ---- mappings ----------------------------------------------------------------------------------
  async function loadMappings() {
    const m = await attempt(() => api('GET', 'mappings'));
    if (!m) return;
    mappings = m;
    $('mappings-file').textContent = m.file;
    $('mappings-readonly').hidden = m.editable;
    $('mappings-readonly').textContent = m.whyNotEditable || '';
    for (const el of $('rule-form').querySelectorAll('input, select, button')) el.disabled = !m.editable;
    const options = (withInherit) => [...(withInherit ? [h('option', { value: '' }, '(not set)')] : []), ...m.connections.map((c) => h('option', { value: c }, c))];
    const keep = $('lookup-connection').value;
    $('lookup-connection').replaceChildren(...options(false));
    if (keep) $('lookup-connection').value = keep;
    const keepRule = $('rule-connection').value;
    $('rule-connection').replaceChildren(...options(true));
    $('rule-connection').value = keepRule;
    const rules = [];
    if (m.mappings.defaults) rules.push(['defaults', '', m.mappings.defaults]);
    for (const [k, r] of Object.entries(m.mappings.organisations || {})) rules.push(['organisations', k, r]);
    for (const [k, r] of Object.entries(m.mappings.extensions || {})) rules.push(['extensions', k, r]);
    $('rules').tBodies[0].replaceChildren(
      ...rules.map(([level, key, rule]) =>
        h('tr', { dataset: { level, key } },
          h('td', {}, level),
          h('td', { class: 'mono' }, key || '—'),
          h('td', { class: 'mono small' }, ruleSummary(rule)),
          h('td', {}, h('button', { type: 'button', class: 'quiet', disabled: !m.editable, onclick: () => editRule(level, key, rule) }, 'Edit ', h('span', { class: 'sr-only' }, level + ' ' + key))),
        ),
      ),
    );
  }

  function ruleSummary(rule) {
    if (!rule || typeof rule !== 'object') return String(rule);
    return Object.entries(rule)
      .map(([k, v]) => k + ': ' + (v && typeof v === 'object' ? '{' + Object.entries(v).map(([a, b]) => a + ': ' + b).join(', ') + '}' : v))
      .join('; ');
  }

  function buildActionFields() {
    const grid = $('rule-actions');
    for (const name of BOOLEAN_ACTIONS) {
      grid.append(h('label', { for: 'action-' + name }, name), h('select', { id: 'action-' + name }, h('option', { value: '' }, '(not set)'), h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false')));
    }
    for (const [name, values] of Object.entries(CHOICE_ACTIONS)) {
      grid.append(h('label', { for: 'action-' + name }, name), h('select', { id: 'action-' + name }, h('option', { value: '' }, '(not set)'), values.map((v) => h('option', { value: v }, v))));
    }
  }

  function editRule(level, key, rule) {
    rule = rule || {};
    $('rule-level').value = level;
    $('rule-key').value = key || '';
    $('rule-key').disabled = level === 'defaults';
    $('rule-connection').value = rule.connection || '';
    const owner = rule.owner || {};
    $('rule-owner-kind').value = owner.id !== undefined ? 'id' : owner.email !== undefined ? 'email' : '';
    $('rule-owner').value = owner.id !== undefined ? owner.id : owner.email || '';
    $('rule-country').value = rule.country || '';
    $('rule-label').value = rule.label || '';
    const actions = rule.actions || {};
    for (const name of [...BOOLEAN_ACTIONS, ...Object.keys(CHOICE_ACTIONS)]) $('action-' + name).value = actions[name] === undefined ? '' : String(actions[name]);
    $('rule-problems').replaceChildren();
    $('rule-title').textContent = key || level === 'defaults' ? 'Edit ' + (level === 'defaults' ? 'the defaults' : level.replace(/s$/, '') + ' ' + key) : 'New rule';
    $('rule-connection').focus();
  }

  function ruleFromForm() {
    const rule = {};
    if ($('rule-connection').value) rule.connection = $('rule-connection').value;
    const kind = $('rule-owner-kind').value;
    if (kind) rule.owner = { [kind]: $('rule-owner').value.trim() };
    if ($('rule-country').value.trim()) rule.country = $('rule-country').value.trim();
    if ($('rule-label').value.trim()) rule.label = $('rule-label').value.trim();
    const actions = {};
    for (const name of BOOLEAN_ACTIONS) if ($('action-' + name).value) actions[name] = $('action-' + name).value === 'true';
    for (const name of Object.keys(CHOICE_ACTIONS)) if ($('action-' + name).value) actions[name] = $('action-' + name).value;
    if (Object.keys(actions).length) rule.actions = actions;
    return rule;
  }

  async function saveRule(rule) {
    const level = $('rule-level').value;
    const body = { level, rule, version: mappings.version };
    if (level !== 'defaults') body.key = $('rule-key').value.trim();
    const problems = $('rule-problems');
    problems.replaceChildren();
    try {
      const saved = await api('PUT', 'mappings/rule', body);
      say((saved.removed ? 'Removed ' : 'Saved ') + saved.saved + ' and applied it.');
      await loadMappings();
      return true;
    } catch (err) {
      if (err.status === 401) return false;
      const list = (err.data.problems || []).map((p) => h('li', {}, (p.line ? 'line ' + p.line + ': ' : '') + (p.path ? p.path + ': ' : '') + p.message));
      problems.replaceChildren(
        h('p', { class: 'error' }, err.message),
        ...(list.length ? [h('p', { class: 'muted' }, 'What is wrong, with its line in the file as this edit would leave it:'), h('ul', { class: 'problems' }, list)] : []),
      );
      say('Not saved: ' + err.message, 'error');
      if (err.status === 409) await loadMappings();
      return false;
    }
  }

  $('rule-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void saveRule(ruleFromForm());
  });
  $('rule-remove').addEventListener('click', () => {
    const what = $('rule-level').value === 'defaults' ? 'the defaults rule' : 'the rule for ' + $('rule-key').value;
    if (confirm('Remove ' + what + ' from the configuration file?')) void saveRule(null);
  });
  $('rule-clear').addEventListener('click', () => editRule('extensions', '', {}));
  $('rule-level').addEventListener('change', () => ($('rule-key').disabled = $('rule-level').value === 'defaults'));

  $('resolve-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await attempt(() => api('GET', 'mappings/resolve?' + new URLSearchParams({ extension: $('resolve-extension').value.trim() })));
    if (!r) return;
    const owner = r.owner ? (r.owner.id !== undefined ? 'id ' + r.owner.id : r.owner.email) : '(none)';
    $('resolve-result').replaceChildren(
      h('p', {}, r.matched === 'none' ? 'No rule matches: calls on this extension are not looked up or logged.' : 'Matched at the ' + r.matched + ' level. Rules applied, least specific first: ' + r.rules.join(' → ') + '.'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Connection'), h('dd', {}, r.connection || '(none: skipped)'),
        h('dt', {}, 'Owner'), h('dd', {}, owner),
        h('dt', {}, 'Country'), h('dd', {}, r.country || '(none)'),
        h('dt', {}, 'Label'), h('dd', {}, r.label || '(none)'),
        h('dt', {}, 'Actions'), h('dd', {}, Object.entries(r.actions).map(([k, v]) => k + ': ' + v).join(', ')),
      ),
    );
  });

  $('lookup-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { connection: $('lookup-connection').value, number: $('lookup-number').value.trim(), fresh: $('lookup-fresh').checked };
    if ($('lookup-country').value.trim()) body.country = $('lookup-country').value.trim().toUpperCase();
    $('lookup-result').replaceChildren(h('p', { class: 'muted' }, 'Looking up…'));
    let r;
    try {
      r = await api('POST', 'lookup', body);
    } catch (err) {
      $('lookup-result').replaceChildren(h('p', { class: 'error' }, err.message));
      return;
    }
    if (!r.query) return $('lookup-result').replaceChildren(h('p', {}, r.note));
    $('lookup-result').replaceChildren(
      h('p', {}, 'Searched ' + [r.query.e164, ...(r.query.forms || [])].filter((v, i, a) => v && a.indexOf(v) === i).join(', ') + (r.cached ? ' (from the cache)' : ' in ' + r.ms + ' ms') + '.'),
      r.matches.length
        ? h('ul', { class: 'matches' }, r.matches.map((m) => h('li', {}, m.displayName + (m.company ? ', ' + m.company : '') + ' · ' + m.recordType + ' ' + m.id + (m.matchedOn ? ' · matched on ' + (m.matchedOn.field || JSON.stringify(m.matchedOn)) : ''))))
        : h('p', {}, 'No record matches.'),
    );
  });

  // ---- agent links -------------------------------------------------------------------------------
  let shownLinks = [];
  async function loadLinks() {
    const ext = $('links-filter').value.trim();
    const r = await attempt(() => api('GET', 'agent-links' + (ext ? '?' + new URLSearchParams({ extension: ext }) : '')));
    if (!r) return;
    shownLinks = ext ? r.links.filter((l) => !l.revokedAt) : [];
    // Only for one extension's links: revoking every link at once is not one click away.
    $('links-revoke-all').disabled = shownLinks.length === 0;
    $('links-revoke-all').textContent = ext ? 'Revoke all ' + shownLinks.length + ' for ' + ext : 'Revoke all shown';
    $('links').tBodies[0].replaceChildren(
      ...(r.links.length
        ? r.links.map((l) =>
            h('tr', { dataset: { link: l.id } },
              h('td', { class: 'mono' }, l.id),
              h('td', { class: 'mono' }, l.extensions.join(', ')),
              h('td', {}, when(l.issuedAt)),
              h('td', {}, l.expiresAt ? when(l.expiresAt) : 'never'),
              h('td', {}, l.revokedAt ? 'revoked ' + when(l.revokedAt) : 'valid'),
              h('td', {}, l.revokedAt ? '' : h('button', { type: 'button', class: 'danger', onclick: () => revoke(l) }, 'Revoke ', h('span', { class: 'sr-only' }, 'link ' + l.id))),
            ),
          )
        : [h('tr', {}, h('td', { colspan: 6 }, 'No issued links' + (ext ? ' for ' + ext : '') + '.'))]),
    );
  }

  async function revoke(link) {
    if (!confirm('Revoke link ' + link.id + ' (' + link.extensions.join(', ') + ')? Pages open with it stop at once.')) return;
    const r = await attempt(() => api('DELETE', 'agent-links/' + encodeURIComponent(link.id)));
    if (r) say('Link ' + link.id + ' revoked.');
    await loadLinks();
  }

  $('link-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const extensions = $('link-extensions').value.split(/[\s,]+/).filter(Boolean);
    const body = { extensions };
    if ($('link-ttl').value) body.ttlHours = Number($('link-ttl').value);
    const issued = await attempt(() => api('POST', 'agent-links', body));
    if (!issued) return;
    const url = issued.url || new URL(issued.path, location.origin).toString();
    const field = h('input', { id: 'link-url', readonly: true, value: url, size: 60, 'aria-label': 'The new agent link' });
    $('link-issued').replaceChildren(
      h('p', {}, 'Link ' + issued.id + ' for ' + issued.extensions.join(', ') + (issued.expiresAt ? ', valid until ' + when(issued.expiresAt) : ', does not expire') + '. Copy it now: it is not shown again.'),
      h('div', { class: 'row' }, field, h('button', { type: 'button', onclick: () => copy(field) }, 'Copy')),
    );
    field.select();
    await loadLinks();
  });
  $('links-refresh').addEventListener('click', () => loadLinks());
  $('links-revoke-all').addEventListener('click', async () => {
    const ext = $('links-filter').value.trim();
    const links = shownLinks;
    if (!links.length || !confirm('Revoke all ' + links.length + ' valid link(s) for ' + ext + '? Pages open with them stop at once.')) return;
    let revoked = 0;
    for (const link of links) if (await attempt(() => api('DELETE', 'agent-links/' + encodeURIComponent(link.id)))) revoked += 1;
    say(revoked + ' link(s) for ' + ext + ' revoked.');
    await loadLinks();
  });

  async function copy(field) {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      say('Link copied.');
    } catch {
      say('Press Ctrl+C (⌘C) to copy the selected link.');
    }
  }

  // ---- recent calls ------------------------------------------------------------------------------
  let callsAsked = 0;
  async function loadCalls() {
    const q = $('calls-q').value.trim();
    const params = new URLSearchParams({ limit: '100' });
    if (q) params.set($('calls-by').value, q);
    const asked = ++callsAsked;
    const r = await attempt(() => api('GET', 'calls/search?' + params));
    // A newer search was sent meanwhile: its answer is the one to show.
    if (!r || asked !== callsAsked) return;
    $('calls-note').textContent = r.calls.length + ' call(s), searched in ' + r.searched + '.';
    // What this table answers, so a reader (or a test) can tell a fresh result from the last one.
    $('calls').dataset.query = q ? $('calls-by').value + '=' + q : '';
    $('calls').tBodies[0].replaceChildren(
      ...(r.calls.length
        ? r.calls.map((c) =>
            h('tr', { dataset: { call: c.callId, extension: c.extension } },
              h('td', {}, time(c.startedAt)),
              h('td', { class: 'mono' }, c.callId),
              h('td', { class: 'mono' }, c.extension),
              h('td', {}, c.direction + ' ' + callSummary(c)),
              h('td', { class: 'pop' }, describePop(c.pop)),
              h('td', { class: 'log' }, describeLog(c.log)),
            ),
          )
        : [h('tr', {}, h('td', { colspan: 6 }, 'No calls found.'))]),
    );
  }
  $('calls-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadCalls();
  });

  const LOADERS = { overview: () => loadOverview(), inbox: () => loadInbox(), mappings: () => loadMappings(), links: () => loadLinks(), calls: () => loadCalls() };
  buildActionFields();
  showView();
})();
