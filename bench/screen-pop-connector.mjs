// The connector for bench/screen-pop.mjs, with a CRM that answers in BENCH_CRM_LATENCY_MS: the
// file provider, each lookup delayed by that much. Wrapping the provider at the connector's own
// seam keeps everything else real (ingest, queue, worker, lookup, pub/sub, SSE) and makes the CRM's
// share exactly known, so "connector share" = total - latency.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const latencyMs = Number(process.env.BENCH_CRM_LATENCY_MS ?? 0);
// BENCH_DIST: another build of the connector (say, of the commit before a change), for A/B runs.
const dist = process.env.BENCH_DIST ?? '../dist';
const { fileProvider } = require(`${dist}/crm/file/index.js`);
const create = fileProvider.create;
fileProvider.create = (...args) => {
  const provider = create(...args);
  const find = provider.findContactsByPhone.bind(provider);
  provider.findContactsByPhone = async (query, opts) => {
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    return find(query, opts);
  };
  return provider;
};
require(`${dist}/main.js`);
