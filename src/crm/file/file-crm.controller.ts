import { Controller, Get, HttpException, Inject, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { APP_ENV } from '../../config/config.tokens';
import { AppEnv } from '../../config/env';
import { splitSecrets } from '../../screen-pop/agent-token';
import { CrmRegistry } from '../crm-registry.service';
import { recordPathSigned } from '../record-signature';
import { FileProvider } from './file.provider';

/**
 * The `file` CRM's contact page: what its record links on the agent's card open, since a CSV has
 * no web UI of its own. Only signed links (the card's) are served.
 */
@Controller('file-crm')
export class FileCrmController {
  private readonly secrets: string[];

  constructor(
    private readonly crm: CrmRegistry,
    @Inject(APP_ENV) env: AppEnv,
  ) {
    this.secrets = splitSecrets(env.agentLinkSecret);
  }

  @Get(':connection/contacts/:id')
  async contact(@Param('connection') connection: string, @Param('id') id: string, @Query('sig') sig: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!recordPathSigned(this.secrets, FileProvider.contactPath(connection, id), sig)) {
      throw new HttpException({ message: 'This contact link is not signed by this connector: open it from the agent page.' }, 403);
    }
    const provider = this.crm.names().includes(connection) ? this.crm.get(connection) : undefined;
    const contact = provider instanceof FileProvider ? await provider.contactById(id) : undefined;
    if (!contact) throw new HttpException({ message: `No contact ${id} in the file CRM "${connection}".` }, 404);
    // Set here, not by decorator: refusals above are JSON.
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").header('referrer-policy', 'no-referrer');
    const given = (row: [string, string | undefined]): row is [string, string] => !!row[1];
    const rows: [string, string | undefined][] = [
      ['Company', contact.company],
      ['Phone', contact.phone],
      ['E-mail', contact.email],
      ['Owner', contact.ownerId],
    ];
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(contact.displayName)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:40rem}dt{font-weight:600}dd{margin:0 0 .75rem}</style></head>
<body><main><h1>${esc(contact.displayName)}</h1><p>Contact ${esc(contact.id)} in the file CRM "${esc(connection)}".</p>
<dl>${rows
      .filter(given)
      .map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`)
      .join('')}</dl></main></body></html>`;
  }
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
