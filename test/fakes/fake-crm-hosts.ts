import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * Stand-ins for the CRM pages that frame the connector's panels, on an origin of their own:
 *
 * - `/lightning`: a page standing in for Lightning Experience. It frames /embed/salesforce the
 *   way Salesforce frames a softphone (`?sfdcIframeOrigin=<its origin>&mode=Lightning`) and serves,
 *   at `/support/api/<version>/lightning/opencti_min.js`, a stand-in of Open CTI's script: every
 *   `sforce.opencti` call the panel makes is posted to the host page (as the real script talks to
 *   Lightning with postMessage) and recorded there in `window.__cti`.
 * - `/hubspot`: a page standing in for HubSpot's calling remote. It frames /embed/hubspot, where
 *   HubSpot's real SDK runs, and speaks the SDK's postMessage protocol as HubSpot does: it sends
 *   SYNC until SYNC_ACK comes back, then records in `window.__received` every message the app sends
 *   (INITIALIZED, LOGGED_IN, INCOMING_CALL, NAVIGATE_TO_RECORD, …) and answers INCOMING_CALL with a
 *   caller-ID match result.
 *
 * `connector` gives the connector's base URL when a page is served (it may start after the hosts).
 * `frame` (query) overrides the framed URL, e.g. to frame a panel from an origin not allowed.
 */
export interface CrmHosts {
  url: string;
  origin: string;
  close(): Promise<void>;
}

export const OPEN_CTI_VERSION = '62.0';

const OPEN_CTI_STAND_IN = `
(function () {
  var parentOrigin = new URLSearchParams(location.search).get('sfdcIframeOrigin');
  function plain(args) {
    return JSON.parse(JSON.stringify(args || {}, function (k, v) { return typeof v === 'function' ? undefined : v; }));
  }
  function record(method, args) {
    window.parent.postMessage({ openCti: method, args: plain(args) }, parentOrigin);
    if (args && typeof args.callback === 'function') setTimeout(function () { args.callback({ success: true, returnValue: null, errors: null }); }, 0);
  }
  var api = { SCREENPOP_TYPE: { SOBJECT: 'sobject', URL: 'url', OBJECTHOME: 'objecthome', LIST: 'list', SEARCH: 'search', NEW_RECORD_MODAL: 'newRecord', FLOW: 'flow' } };
  ['screenPop', 'searchAndScreenPop', 'setSoftphonePanelVisibility', 'isSoftphonePanelVisible', 'enableClickToDial', 'disableClickToDial', 'onClickToDial',
   'onNavigationChange', 'saveLog', 'getAppViewInfo', 'setSoftphonePanelHeight', 'setSoftphonePanelWidth', 'getSoftphoneLayout', 'refreshView', 'runApex',
   'setSoftphoneItemIcon', 'setSoftphoneItemLabel', 'notifyInitializationComplete'].forEach(function (m) { api[m] = function (args) { record(m, args); }; });
  window.sforce = { opencti: api };
})();
`;

function lightningPage(panel: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Lightning stand-in</title></head><body>
<h1>Lightning stand-in</h1>
<iframe id="softphone" title="Softphone" src="${panel}" width="360" height="560" allow="microphone"></iframe>
<script>
  window.__cti = [];
  var panelOrigin = new URL(${JSON.stringify(panel)}).origin;
  window.addEventListener('message', function (e) {
    if (e.origin !== panelOrigin || !e.data || !e.data.openCti) return;
    window.__cti.push({ method: e.data.openCti, args: e.data.args });
  });
</script></body></html>`;
}

function hubspotPage(panel: string, portalId: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>HubSpot stand-in</title></head><body>
<h1>HubSpot stand-in</h1>
<div id="calling-remote"><iframe id="calling" title="Calling" src="${panel}" width="360" height="560" allow="microphone; autoplay"></iframe></div>
<script>
  window.__received = [];
  window.__synced = false;
  var frame = document.getElementById('calling');
  var panelOrigin = new URL(${JSON.stringify(panel)}).origin;
  var seq = 0;
  function send(message) {
    message.messageId = message.messageId || 'hubspot_' + Date.now() + '_' + (seq++);
    frame.contentWindow.postMessage(message, panelOrigin);
  }
  window.addEventListener('message', function (e) {
    if (e.origin !== panelOrigin || !e.data || !e.data.type) return;
    window.__received.push(e.data);
    if (e.data.type === 'SYNC_ACK') window.__synced = true;
    if (e.data.type === 'INCOMING_CALL') send({ type: 'CALLER_ID_MATCH_FAILED', data: {} });
  });
  function sync() {
    if (window.__synced) return;
    send({ type: 'SYNC', hostUrl: location.origin, portalId: ${portalId}, userId: 7, ownerId: 77, iframeLocation: 'remote', usesCallingWindow: false });
    setTimeout(sync, 100);
  }
  frame.addEventListener('load', sync);
</script></body></html>`;
}

export async function startCrmHosts(connector: () => string, opts: { portalId?: number; host?: string } = {}): Promise<CrmHosts> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const frame = url.searchParams.get('frame');
    if (url.pathname === '/lightning') {
      const panel = frame ?? `${connector()}/embed/salesforce?${new URLSearchParams({ sfdcIframeOrigin: origin, mode: 'Lightning' })}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(lightningPage(panel));
    } else if (url.pathname === `/support/api/${OPEN_CTI_VERSION}/lightning/opencti_min.js`) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(OPEN_CTI_STAND_IN);
    } else if (url.pathname === '/hubspot') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(hubspotPage(frame ?? `${connector()}/embed/hubspot`, opts.portalId ?? 4242));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  // "localhost" and "127.0.0.1" are different sites, as a CRM's domain and the connector's are.
  origin = `http://${opts.host ?? 'localhost'}:${port}`;
  return {
    url: origin,
    origin,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
