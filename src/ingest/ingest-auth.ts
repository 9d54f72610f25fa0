import { ForbiddenException, HttpException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { BlockList, isIP } from 'node:net';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { secretMatcher } from './secret-compare';

/**
 * VoipNow cannot sign requests, so the admin puts the secret in the configured URL (`?token=`);
 * tools may send it as a header instead. An optional CIDR allow-list narrows who may call at all.
 */
@Injectable()
export class IngestAuth {
  private readonly allow?: BlockList;
  private readonly matchesToken: (given: string | undefined) => boolean;
  /** Wrong tokens counted per source address: past the limit they get 429 instead of 401, for a minute. */
  private readonly failures: RateLimiterMemory;

  constructor(@Inject(APP_ENV) env: AppEnv) {
    if (env.ingestAllowCidrs.length > 0) this.allow = buildAllowList(env.ingestAllowCidrs);
    this.matchesToken = secretMatcher(env.ingestTokens);
    this.failures = new RateLimiterMemory({ points: env.authFailuresPerMinute, duration: 60, blockDuration: 60 });
  }

  /**
   * Returns nothing for a request that may send events; otherwise throws, or returns a promise
   * that rejects with, the refusal (403, 401, or 429 past the limit). The accepted case stays
   * synchronous: it runs once per event.
   */
  check(req: FastifyRequest): undefined | Promise<never> {
    if (this.allow && !allowed(this.allow, req.ip)) {
      throw new ForbiddenException(`Source address ${req.ip} is not in INGEST_ALLOW_CIDRS.`);
    }
    const token = tokenOf(req);
    if (!this.matchesToken(token)) return this.refuse(req.ip, token);
  }

  private async refuse(ip: string, token: string | undefined): Promise<never> {
    // Only wrong tokens count, and a right one is never refused: blocking the PBX's address
    // because one extension still has an old token would drop every event (VoipNow never
    // retries). Guessing is hopeless anyway against a random token; past the limit a guesser
    // just gets a cheap 429.
    await this.failures.consume(ip).catch((res: unknown) => {
      if (res instanceof RateLimiterRes) throw tooMany(res);
      throw res;
    });
    throw new UnauthorizedException(
      token ? 'The ingest token is not valid.' : 'An ingest token is required: add ?token=<INGEST_TOKEN> to the URL configured in VoipNow, or send an X-Connector-Token header.',
    );
  }
}

function tooMany(res: RateLimiterRes): HttpException {
  const seconds = Math.ceil(res.msBeforeNext / 1000);
  return new HttpException({ statusCode: 429, error: 'Too Many Requests', message: `Too many refused tokens from this address; try again in ${seconds} s.`, retryAfter: seconds }, 429);
}

function tokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-connector-token'];
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const query = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof query === 'string' ? query : undefined;
}

export function buildAllowList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string?];
    const family = isIP(address);
    if (family === 0) throw new Error(`INGEST_ALLOW_CIDRS: "${cidr}" is not an IP address or CIDR range.`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new Error(`INGEST_ALLOW_CIDRS: "${cidr}" has an invalid prefix length.`);
      }
      list.addSubnet(address, prefix, type);
    }
  }
  return list;
}

function allowed(list: BlockList, ip: string): boolean {
  const mapped = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return list.check(mapped, isIP(mapped) === 6 ? 'ipv6' : 'ipv4');
}
