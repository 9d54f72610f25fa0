import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { matchesAnySecret } from '../ingest/secret-compare';

/** Admin API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(@Inject(APP_ENV) private readonly env: AppEnv) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const token = adminTokenOf(req.headers.authorization);
    if (!matchesAnySecret(token, [this.env.adminToken])) {
      throw new UnauthorizedException(token ? 'The admin token is not valid.' : 'Send Authorization: Bearer <ADMIN_TOKEN>.');
    }
    return true;
  }
}

/** Bearer for tools; Basic (any user name, the token as password) so a browser can open the queue dashboard. */
export function adminTokenOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}
