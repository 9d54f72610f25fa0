#!/usr/bin/env node
// Checks the deployment files against the connector itself, offline and in a second or two:
// Dockerfile, compose.yaml, deploy/kubernetes/*.yaml and docs/operations.md's YAML examples parse, name only environment variables
// the connector reads, probe health endpoints it serves, reference secrets and config maps that
// exist, carry a configuration the connector accepts, and alert on metrics it exports. Needs `npm run build` (dist/) first.
//   node scripts/check-deploy.mjs
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const problems = [];
const problem = (file, message) => problems.push(`${file}: ${message}`);
const read = (file) => readFileSync(join(root, file), 'utf8');

// The variables the connector reads: the keys of the zod object in src/config/env.ts (and NAME_FILE for secrets).
const envSource = read('src/config/env.ts');
const fieldsBlock = envSource.slice(envSource.indexOf('const fields = z.object({'), envSource.indexOf('\n});', envSource.indexOf('const fields = z.object({')));
const known = new Set([...fieldsBlock.matchAll(/^\s{2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
const secrets = new Set(['INGEST_TOKEN', 'ADMIN_TOKEN', 'AGENT_LINK_SECRET']);
const checkEnvName = (file, name, crmSecrets = new Set()) => {
  const base = name.endsWith('_FILE') ? name.slice(0, -5) : name;
  if (!known.has(name) && !secrets.has(base) && !crmSecrets.has(base)) problem(file, `sets ${name}, which the connector does not read (known: src/config/env.ts)`);
};
const healthPaths = new Set(['/health/live', '/health/ready']);
const health = read('src/health/health.controller.ts');
for (const p of healthPaths) if (!health.includes(`@Get('${p.split('/')[2]}')`)) problem('src/health/health.controller.ts', `no route ${p}`);

// --- Dockerfile -------------------------------------------------------------------------------
const docker = read('Dockerfile');
if ((docker.match(/^FROM /gm) ?? []).length < 2) problem('Dockerfile', 'is not multi-stage');
if (!/^USER (?!root|0\b)\S+/m.test(docker)) problem('Dockerfile', 'does not switch to a non-root USER');
if (!/^HEALTHCHECK /m.test(docker) || !docker.includes('/health/live')) problem('Dockerfile', 'has no HEALTHCHECK on /health/live');
if (!docker.includes('npm prune --omit=dev')) problem('Dockerfile', 'does not drop the dev dependencies');
if (!/^CMD \["node", "dist\/main\.js"\]/m.test(docker)) problem('Dockerfile', 'does not run node dist/main.js directly (npm in between keeps SIGTERM from the connector)');
for (const [, src] of docker.matchAll(/^COPY (?!--from)(\S+)/gm)) if (!existsSync(join(root, src))) problem('Dockerfile', `copies ${src}, which does not exist`);
// `nest build` without nest-cli.json still compiles, but copies none of its assets (the agent page, the panels, the console).
if (/^nest build\b/.test(JSON.parse(read('package.json')).scripts.build) && !/^COPY [^\n]*\bnest-cli\.json\b/m.test(docker)) {
  problem('Dockerfile', 'does not copy nest-cli.json: `npm run build` (nest build) would leave the pages out of dist/');
}

// --- compose.yaml -----------------------------------------------------------------------------
const compose = parse(read('compose.yaml'), { merge: true });
const services = compose.services ?? {};
for (const name of ['redis', 'api', 'worker']) if (!services[name]) problem('compose.yaml', `has no ${name} service`);
const redisCommand = [services.redis?.command ?? []].flat().join(' ');
if (!/--appendonly yes/.test(redisCommand)) problem('compose.yaml', 'Redis without AOF (--appendonly yes)');
if (!/--maxmemory-policy noeviction/.test(redisCommand)) problem('compose.yaml', 'Redis without --maxmemory-policy noeviction');
for (const [name, role] of [['api', 'api'], ['worker', 'worker']]) {
  const svc = services[name];
  if (!svc) continue;
  if (svc.environment?.ROLE !== role) problem('compose.yaml', `service ${name} does not set ROLE=${role}`);
  for (const key of Object.keys(svc.environment ?? {})) checkEnvName(`compose.yaml (${name})`, key);
  for (const s of svc.secrets ?? []) if (!compose.secrets?.[s]) problem('compose.yaml', `service ${name} uses secret ${s}, which is not defined`);
  for (const key of ['INGEST_TOKEN', 'ADMIN_TOKEN', 'AGENT_LINK_SECRET']) {
    if (!svc.environment?.[key] && !svc.environment?.[`${key}_FILE`]) problem('compose.yaml', `service ${name} gets no ${key}`);
  }
}

// --- deploy/kubernetes ------------------------------------------------------------------------
const dir = 'deploy/kubernetes';
const docs = [];
for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml'))) {
  for (const doc of parseAllDocuments(read(join(dir, file)))) {
    if (doc.errors.length) problem(`${dir}/${file}`, doc.errors[0].message);
    const value = doc.toJS();
    if (value) docs.push({ file: `${dir}/${file}`, value });
  }
}
const byKind = (kind) => docs.filter((d) => d.value.kind === kind);
const kustomization = byKind('Kustomization')[0];
for (const r of kustomization?.value.resources ?? []) if (!existsSync(join(root, dir, r))) problem(kustomization.file, `lists ${r}, which does not exist`);
const secretNames = new Set(byKind('Secret').map((d) => d.value.metadata.name));
const configMaps = new Map(byKind('ConfigMap').map((d) => [d.value.metadata.name, d.value]));
const crmSecrets = new Set(byKind('Secret').flatMap((d) => Object.keys(d.value.stringData ?? d.value.data ?? {})));
const deployments = byKind('Deployment');
for (const role of ['api', 'worker']) {
  if (!deployments.some((d) => d.value.spec.template.spec.containers.some((c) => c.env?.some((e) => e.name === 'ROLE' && e.value === role)))) {
    problem(dir, `no Deployment runs ROLE=${role}`);
  }
}
for (const { file, value } of deployments) {
  const spec = value.spec.template.spec;
  const labels = value.spec.template.metadata.labels ?? {};
  for (const [k, v] of Object.entries(value.spec.selector.matchLabels ?? {})) if (labels[k] !== v) problem(file, `selector ${k}=${v} does not match the pod labels`);
  if (!spec.securityContext?.runAsNonRoot) problem(file, 'pods may run as root (runAsNonRoot)');
  for (const c of spec.containers) {
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      const path = c[probe]?.httpGet?.path;
      if (!healthPaths.has(path)) problem(file, `${c.name}: ${probe} ${path ? `on ${path}, not a health endpoint` : 'missing'}`);
    }
    for (const e of c.env ?? []) checkEnvName(`${file} (${c.name})`, e.name, crmSecrets);
    for (const ref of c.envFrom ?? []) if (ref.secretRef && !secretNames.has(ref.secretRef.name)) problem(file, `envFrom names Secret ${ref.secretRef.name}, which is not defined`);
    for (const m of c.volumeMounts ?? []) if (!spec.volumes?.some((v) => v.name === m.name)) problem(file, `mounts volume ${m.name}, which is not defined`);
  }
  for (const v of spec.volumes ?? []) if (v.configMap && !configMaps.has(v.configMap.name)) problem(file, `uses ConfigMap ${v.configMap.name}, which is not defined`);
}
for (const { file, value } of byKind('Service')) {
  if (!deployments.some((d) => Object.entries(value.spec.selector).every(([k, v]) => d.value.spec.template.metadata.labels?.[k] === v))) problem(file, `Service ${value.metadata.name} selects no Deployment`);
}

// The ConfigMap's configuration, validated by the connector's own loader (secrets: the Secret's keys).
const loader = join(root, 'dist/config/config.loader.js');
if (!existsSync(loader)) problem('dist/', 'not built: run npm run build first');
else {
  const { parseConfig, ConfigError } = require(loader);
  for (const [name, cm] of configMaps) {
    for (const [key, text] of Object.entries(cm.data ?? {})) {
      if (!key.endsWith('.yaml')) continue;
      try {
        parseConfig(text, `ConfigMap ${name} ${key}`, (secret) => (crmSecrets.has(secret) ? 'set' : undefined));
      } catch (err) {
        problem(`${dir} ConfigMap ${name}`, err instanceof ConfigError ? err.message : String(err));
      }
    }
  }
}

// --- docs/operations.md: its YAML examples parse, and its alert rules name metrics the connector exports ---
const ops = read('docs/operations.md');
const metricNames = new Set();
const sourceFiles = (d) => readdirSync(join(root, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
for (const f of sourceFiles('src')) for (const m of read(f).matchAll(/name: '(vncc_[a-z_]+)'/g)) metricNames.add(m[1]);
for (const [, block] of ops.matchAll(/```yaml\n([\s\S]*?)```/g)) {
  let doc;
  try {
    doc = parse(block);
  } catch (err) {
    problem('docs/operations.md', `a YAML example does not parse: ${err.message.split('\n')[0]}`);
    continue;
  }
  for (const rule of (doc?.groups ?? []).flatMap((g) => g.rules ?? [])) {
    for (const [, metric] of String(rule.expr).matchAll(/\b(vncc_[a-z_]+)/g)) {
      const base = metric.replace(/_(count|sum|bucket)$/, '');
      if (!metricNames.has(metric) && !metricNames.has(base)) problem('docs/operations.md', `alert ${rule.alert} uses ${metric}, which the connector does not export`);
    }
  }
}

if (problems.length) {
  console.error(`Deployment files: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`Deployment files OK: Dockerfile, compose.yaml (${Object.keys(services).join(', ')}), ${docs.length} Kubernetes objects in ${dir}, the alert rules in docs/operations.md.`);
