/**
 * Prints a signed agent screen-pop link, signed with the same secret the connector verifies with
 * (AGENT_LINK_SECRET, AGENT_LINK_SECRET_FILE, or the one a development start generated).
 *
 *   npm run agent-link -- --ext 0003*210 [--ext 0003*211] [--ttl-hours 12] [--url https://connector.example.com]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EnvError, readSecret } from '../config/env';
import { signAgentToken, splitSecrets } from '../screen-pop/agent-token';

const { values } = parseArgs({
  options: {
    ext: { type: 'string', multiple: true, default: [] },
    'ttl-hours': { type: 'string' },
    url: { type: 'string', default: process.env.PUBLIC_URL ?? process.env.CONNECTOR_URL ?? `http://localhost:${process.env.PORT ?? 3000}` },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const ttl = values['ttl-hours'] === undefined ? undefined : Number(values['ttl-hours']);
if (values.help || values.ext.length === 0 || (ttl !== undefined && !(ttl > 0))) {
  console.log(`Usage: npm run agent-link -- --ext ORG*EXT [--ext ORG*EXT ...] [--ttl-hours HOURS] [--url ${values.url}] [--json]
Prints a link to the agent page for these extensions. Without --ttl-hours the link does not
expire (rotate AGENT_LINK_SECRET to revoke such links).`);
  process.exit(values.help ? 0 : 2);
}

try {
  const secret = readSecret(process.env, 'AGENT_LINK_SECRET', {
    production: process.env.NODE_ENV === 'production',
    secretsDir: resolve(process.env.SECRETS_DIR ?? 'var/secrets'),
  });
  const { token, payload } = signAgentToken(splitSecrets(secret)[0], values.ext, { ttlHours: ttl });
  const url = `${values.url.replace(/\/+$/, '')}/agent?token=${token}`;
  const expiresAt = payload.exp ? new Date(payload.exp * 1000).toISOString() : null;
  if (values.json) console.log(JSON.stringify({ url, token, extensions: payload.ext, expiresAt }));
  else console.log(`${url}\n(extensions ${payload.ext.join(', ')}; ${expiresAt ? `expires ${expiresAt}` : 'does not expire'})`);
} catch (err) {
  if (err instanceof EnvError) console.error(err.message);
  else if ((err as { issues?: { message: string }[] }).issues) console.error(`Cannot sign: ${(err as { issues: { message: string }[] }).issues.map((i) => i.message).join('; ')}`);
  else console.error(err);
  process.exit(1);
}
