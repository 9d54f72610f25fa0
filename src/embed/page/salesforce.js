// Salesforce Lightning adapter, on Open CTI for Lightning Experience. Kept thin on purpose:
// Salesforce retires Open CTI in February 2028, and everything CRM-neutral (binding, the card,
// which call pops what) lives in embed.js, so a successor surface replaces only this file.
// Only ids and the number go into Salesforce's pops; the caller-ID name only as a field value.
'use strict';

(function () {
  const embed = window.vnccEmbed;
  const cfg = embed.config;
  const SF_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
  const waiting = [];
  let cti;

  /** Salesforce names its own origin in sfdcIframeOrigin; only a configured org origin is believed. */
  function salesforceOrigin() {
    const candidates = [new URLSearchParams(location.search).get('sfdcIframeOrigin'), location.ancestorOrigins && location.ancestorOrigins[0]];
    for (const candidate of candidates) {
      if (!candidate) continue;
      try {
        const origin = new URL(candidate).origin;
        if (cfg.origins.includes(origin)) return origin;
      } catch (err) {
        // not a URL: next
      }
    }
    return undefined;
  }

  if (window.parent === window) {
    embed.say('This is the Salesforce softphone panel: it works inside Salesforce (the Phone item of the utility bar).');
    return;
  }
  const origin = salesforceOrigin();
  if (!origin) {
    embed.say('This Salesforce org may not show this panel. Ask your administrator to add its Lightning origin to EMBED_SALESFORCE_ORIGINS.');
    return;
  }
  const script = document.createElement('script');
  script.src = origin + '/support/api/' + cfg.openCtiVersion + '/lightning/opencti_min.js';
  script.onload = () => {
    cti = window.sforce && window.sforce.opencti;
    if (!cti) return embed.say('Salesforce Open CTI did not load: check the call center (Lightning compatibility mode).');
    setUp();
    waiting.splice(0).forEach((f) => f());
  };
  script.onerror = () => embed.say('Salesforce Open CTI could not be loaded from ' + origin + '.');
  document.head.appendChild(script);

  function whenReady(f) {
    if (cti) f();
    else waiting.push(f);
  }

  function setUp() {
    // Click-to-dial seam. Dialing out from the connector is not built yet; when it is, call
    // cti.enableClickToDial() here and place the call from this listener. Until then click-to-dial
    // stays off (Salesforce's default), so phone numbers do not look clickable for nothing.
    cti.onClickToDial({ listener: function () {} });
  }

  function report(result) {
    if (result && result.success === false) embed.say('Salesforce refused the pop: ' + [].concat(result.errors || []).map(String).join('; '));
  }

  function popType(name) {
    return (cti.SCREENPOP_TYPE && cti.SCREENPOP_TYPE[name]) || name;
  }

  function popRecord(id) {
    cti.screenPop({ type: popType('SOBJECT'), params: { recordId: id }, callback: report });
  }

  /** New Contact prefilled with the number and the caller-ID name (last word as LastName). */
  function prefill(decision) {
    const values = { Phone: decision.number };
    const words = decision.callerName.split(/\s+/).filter(Boolean);
    if (words.length) values.LastName = words.pop().slice(0, 80);
    if (words.length) values.FirstName = words.join(' ').slice(0, 40);
    return values;
  }

  embed.onPop((decision) => {
    if (decision.kind === 'none') return;
    if (decision.kind === 'record' && !SF_ID.test(decision.matches[0].id)) return;
    whenReady(() => {
      cti.setSoftphonePanelVisibility({ visible: true, callback: report });
      if (decision.kind === 'record') popRecord(decision.matches[0].id);
      // Several records hold the number: Salesforce's search lists them all; the card lists them
      // too, and a click on one opens it in the console.
      else if (decision.kind === 'several') cti.screenPop({ type: popType('SEARCH'), params: { searchString: decision.number }, callback: report });
      else if (decision.kind === 'unknown') cti.screenPop({ type: popType('NEW_RECORD_MODAL'), params: { entityName: 'Contact' }, defaultFieldValues: prefill(decision), callback: report });
    });
  });

  // A record link on the card opens the record in the console (not in a new browser tab).
  document.addEventListener(
    'click',
    (e) => {
      const a = e.target && e.target.closest && e.target.closest('#vncc-agent a[href]');
      const found = a && embed.matchByUrl(a.href);
      if (!found || !SF_ID.test(found.match.id)) return;
      e.preventDefault();
      whenReady(() => popRecord(found.match.id));
    },
    true,
  );
})();
