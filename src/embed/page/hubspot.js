// HubSpot adapter, on HubSpot's Calling Extensions SDK (served from the connector). The caller
// shows up in HubSpot as an incoming call of this calling app, the best record opens, and the
// call's end and its logged engagement are reported. HubSpot creates no engagement of its own
// (createEngagement: false): the connector logs each call once, server-side, keyed by its call
// key, which is also the externalCallId HubSpot sees. Only ids and numbers go to HubSpot.
import CallingExtensions from './calling-extensions-sdk.js';

const embed = window.vnccEmbed;
const cfg = embed.config;
const HS_ID = /^\d{1,20}$/;
const OBJECT_TYPE = { contact: '0-1', company: '0-2' };
const END_STATUS = { answered: 'COMPLETED', missed: 'MISSED', busy: 'BUSY', cancelled: 'CANCELED', failed: 'FAILED' };

// The SDK answers a SYNC from any window and then talks to whoever sent it: only the configured
// HubSpot origins get through to it.
window.addEventListener(
  'message',
  (e) => {
    if (!cfg.origins.includes(e.origin)) e.stopImmediatePropagation();
  },
  true,
);

const started = new Set();
const answered = new Set();
const ended = new Set();
const completed = new Set();
let portalId;
let ready = false;
let bound = false;
let cti;
/** Calls decided before HubSpot's handshake finished (a panel opened while the phone rings). */
const waiting = [];

if (window.parent === window) {
  embed.say('This is the HubSpot calling panel: it works inside HubSpot (choose this app as your calling provider).');
} else {
  cti = new CallingExtensions({
    debugMode: false,
    eventHandlers: {
      onReady: (data) => {
        if (data && data.portalId) portalId = Number(data.portalId);
        if (ready) return;
        ready = true;
        cti.initialized({ isLoggedIn: bound, isAvailable: bound });
        // Still live now (the card's call object is kept current by agent.js)?
        waiting.splice(0).filter((d) => d.call.record.outcome === 'ringing' || d.call.record.outcome === 'talking').forEach(announce);
      },
      // Seam: dialing out from HubSpot through the connector is not built yet.
      onDialNumber: () => {},
      onCallerIdMatchSucceeded: () => {},
      onCallerIdMatchFailed: () => {},
      onVisibilityChanged: () => {},
      onEndCall: () => {},
      defaultEventHandler: () => {},
    },
  });
}

embed.onSession((session) => {
  const now = Boolean(session);
  if (now === bound) return;
  bound = now;
  if (!ready) return;
  if (bound) {
    cti.userLoggedIn();
    cti.userAvailable();
  } else cti.userLoggedOut();
});

/** The extension's own side of the call: the number that was dialled for an inbound call. */
function ownNumber(call) {
  const party = call.record.direction === 'inbound' ? call.record.callee : call.record.caller;
  return String((call.display && call.display.did) || party.did || party.number || party.extension || '').replace(/[^\d+]/g, '');
}

function navigate(match) {
  const objectTypeId = OBJECT_TYPE[String(match.recordType).toLowerCase()];
  if (!cti || !ready || !portalId || !objectTypeId || !HS_ID.test(match.id)) return;
  cti.navigateToRecord({ objectCoordinates: { portalId: portalId, objectId: Number(match.id), objectTypeId: objectTypeId } });
}

embed.onPop((decision) => {
  if (!cti || !decision.ours) return;
  if (ready) announce(decision);
  else waiting.push(decision);
});

function announce(decision) {
  const call = decision.call;
  const info = { externalCallId: decision.externalCallId, callStartTime: call.record.startedAt, createEngagement: false };
  if (decision.direction === 'inbound') cti.incomingCall(Object.assign(info, { fromNumber: decision.number, toNumber: ownNumber(call) }));
  else cti.outgoingCall(Object.assign(info, { fromNumber: ownNumber(call), toNumber: decision.number }));
  started.add(call.key);
  if (call.record.outcome === 'talking') markAnswered(call);
  // One record: open it. Several: HubSpot's caller-ID match lists them, and so does the card.
  if (decision.kind === 'record') navigate(decision.matches[0]);
}

function markAnswered(call) {
  if (answered.has(call.key)) return;
  answered.add(call.key);
  cti.callAnswered({ externalCallId: embed.externalCallId(call.record.callId) });
}

embed.onUpdate((update, call) => {
  if (!started.has(call.key)) return;
  const externalCallId = embed.externalCallId(call.record.callId);
  const outcome = call.record.outcome;
  if (outcome === 'talking') markAnswered(call);
  if (END_STATUS[outcome] && !ended.has(call.key)) {
    ended.add(call.key);
    cti.callEnded({ externalCallId: externalCallId, callEndStatus: END_STATUS[outcome] });
  }
  // The engagement the connector logged (once) is the call's engagement in HubSpot too.
  const activity = call.activity;
  if (activity && embed.crmOf(activity.connection) === 'hubspot' && HS_ID.test(activity.id) && !completed.has(call.key)) {
    completed.add(call.key);
    cti.callCompleted({ externalCallId: externalCallId, engagementId: Number(activity.id), hideWidget: false });
  }
});

// A record link on the card opens the record in HubSpot's own page.
document.addEventListener(
  'click',
  (e) => {
    const a = e.target && e.target.closest && e.target.closest('#vncc-agent a[href]');
    const found = a && embed.matchByUrl(a.href);
    if (!found || !ready) return;
    e.preventDefault();
    navigate(found.match);
  },
  true,
);
