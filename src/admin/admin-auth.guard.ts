import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException, UnsupportedMediaTypeException } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { matchesAnySecret } from '../ingest/secret-compare';

/** Bodies the admin API reads: JSON, and YAML for config validation. A cross-site HTML form can send neither. */
const ADMIN_BODY_TYPES = /^(application\/json|application\/(x-)?yaml|text\/yaml)\s*(;|$)/i;

/**
 * Admin API: `Authorization: Bearer <ADMIN_TOKEN>` only, compared in constant time. Never Basic
 * auth: a browser that opened the queue dashboard caches Basic credentials and attaches them to
 * any request a web page makes to this origin (a hidden form could pause a connection or replay
 * jobs); it never attaches a Bearer header by itself. Bodies must be JSON (or YAML where a route
 * reads it), which HTML forms cannot send either. Responses are never cached: some carry tokens
 * (agent links) or configuration.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(@Inject(APP_ENV) private readonly env: AppEnv) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    void http.getResponse<FastifyReply>().header('cache-control', 'no-store');
    const token = bearerTokenOf(req.headers.authorization);
    if (!matchesAnySecret(token, [this.env.adminToken])) {
      throw new UnauthorizedException(
        token
          ? 'The admin token is not valid.'
          : req.headers.authorization?.startsWith('Basic ')
            ? 'The admin API takes Authorization: Bearer <ADMIN_TOKEN> only (Basic auth is accepted by the read-only queue dashboard alone).'
            : 'Send Authorization: Bearer <ADMIN_TOKEN>.',
      );
    }
    const type = req.headers['content-type'];
    if (type !== undefined && !ADMIN_BODY_TYPES.test(type)) {
      throw new UnsupportedMediaTypeException(`The admin API reads JSON bodies (Content-Type: application/json), not ${type.split(';')[0]}.`);
    }
    return true;
  }
}

/** The token of `Authorization: Bearer <token>`; anything else (Basic included) is no token. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  return header.slice(7).trim() || undefined;
}

/**
 * The queue dashboard's read-only pages also accept Basic auth (any user name, the token as
 * password), so a browser can open them; nothing that changes state accepts it.
 */
export function dashboardTokenOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.startsWith('Bearer ')) return bearerTokenOf(header);
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}
