import { ForbiddenException, HttpException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { AgentTokenError, AgentTokenPayload, signAgentToken, splitSecrets, verifyAgentToken } from './agent-token';

/** Mints and checks agent links with AGENT_LINK_SECRET (several, comma-separated, while rotating). */
@Injectable()
export class AgentLinks {
  private readonly secrets: string[];

  constructor(@Inject(APP_ENV) env: AppEnv) {
    this.secrets = splitSecrets(env.agentLinkSecret);
  }

  mint(extensions: string[], ttlHours?: number) {
    const { token, payload } = signAgentToken(this.secrets[0], extensions, { ttlHours });
    return { token, extensions: payload.ext, expiresAt: payload.exp ? new Date(payload.exp * 1000).toISOString() : null };
  }

  /** The link's payload, or the HTTP error to answer: 401 missing/damaged/forged, 403 expired. */
  verify(token: unknown): AgentTokenPayload {
    try {
      return verifyAgentToken(this.secrets, tokenParam(token));
    } catch (err) {
      if (err instanceof AgentTokenError) throw toHttpError(err);
      throw err;
    }
  }
}

export function toHttpError(err: AgentTokenError): HttpException {
  return err.problem === 'expired' ? new ForbiddenException(err.message) : new UnauthorizedException(err.message);
}

/** `?token=a&token=b` arrives as an array: refused as damaged rather than picking one. */
function tokenParam(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  return typeof value === 'string' ? value : '[several tokens]';
}
