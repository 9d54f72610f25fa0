/**
 * HubSpot calling settings of the app that embeds the connector's panel: name, iframe URL, size,
 * inbound calling. HubSpot keeps one set per app (`/crm/v3/extensions/calling/{appId}/settings`,
 * authorised by the app developer account's API key), used by every portal that installs the app.
 * Registered by `npm run hubspot-calling-settings`, never by hand-written JSON: it reads what is
 * there, creates it when there is nothing, and otherwise updates it to what is asked.
 */
export interface CallingSettings {
  name: string;
  url: string;
  width: number;
  height: number;
  isReady: boolean;
  supportsInboundCalling: boolean;
  supportsCustomObjects: boolean;
  usesCallingWindow: boolean;
  usesRemote: boolean;
}

export interface SettingsClientOptions {
  basePath: string;
  appId: string;
  /** The developer account's API key (sent as `hapikey`, as HubSpot's settings endpoints take it)… */
  developerApiKey?: string;
  /** …or a bearer token, where the account issues one for these endpoints. */
  bearerToken?: string;
}

export class CallingSettingsError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The settings the connector's panel needs; the caller chooses name, URL, size and readiness. */
export function panelSettings(input: { name: string; url: string; width: number; height: number; isReady: boolean }): CallingSettings {
  const url = new URL(input.url);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !loopback) throw new CallingSettingsError(`The iframe URL must be https (HubSpot frames it in an https page): ${url.origin}`);
  if (!url.pathname.endsWith('/embed/hubspot')) throw new CallingSettingsError(`The iframe URL is the connector's HubSpot panel, …/embed/hubspot, not ${url.pathname}`);
  if (!(input.width >= 200 && input.width <= 1200) || !(input.height >= 200 && input.height <= 1600)) throw new CallingSettingsError('Width must be 200-1200 and height 200-1600 pixels.');
  return {
    name: input.name,
    url: url.toString(),
    width: input.width,
    height: input.height,
    isReady: input.isReady,
    // The panel receives calls (incomingCall) and sits in HubSpot's calling remote; it holds no
    // audio, so it needs no separate calling window to survive navigation.
    supportsInboundCalling: true,
    supportsCustomObjects: false,
    usesCallingWindow: false,
    usesRemote: true,
  };
}

export class CallingSettingsClient {
  constructor(private readonly opts: SettingsClientOptions) {
    if (!/^\d{1,12}$/.test(opts.appId)) throw new CallingSettingsError(`The app id is a number (the app's ID in the developer account), not "${opts.appId}".`);
    if (!opts.developerApiKey && !opts.bearerToken) throw new CallingSettingsError("Set HUBSPOT_DEVELOPER_API_KEY (the developer account's API key) or HUBSPOT_DEVELOPER_TOKEN.");
  }

  async get(): Promise<(CallingSettings & { createdAt?: string; updatedAt?: string }) | undefined> {
    const res = await this.request('GET');
    if (res.status === 404) return undefined;
    return (await this.read(res, 'read')) as CallingSettings;
  }

  /** Creates the settings, or updates them when the app has some: the result as HubSpot keeps it. */
  async apply(settings: CallingSettings): Promise<{ action: 'created' | 'updated' | 'unchanged'; settings: CallingSettings }> {
    const current = await this.get();
    if (!current) return { action: 'created', settings: (await this.read(await this.request('POST', settings), 'create')) as CallingSettings };
    const changed = (Object.keys(settings) as (keyof CallingSettings)[]).filter((k) => current[k] !== settings[k]);
    if (changed.length === 0) return { action: 'unchanged', settings: current };
    const patch = Object.fromEntries(changed.map((k) => [k, settings[k]]));
    return { action: 'updated', settings: (await this.read(await this.request('PATCH', patch), 'update')) as CallingSettings };
  }

  async remove(): Promise<boolean> {
    const res = await this.request('DELETE');
    if (res.status === 404) return false;
    await this.read(res, 'delete');
    return true;
  }

  private request(method: string, body?: unknown): Promise<Response> {
    const url = new URL(`${this.opts.basePath.replace(/\/+$/, '')}/crm/v3/extensions/calling/${this.opts.appId}/settings`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.developerApiKey) url.searchParams.set('hapikey', this.opts.developerApiKey);
    else if (this.opts.bearerToken) headers.authorization = `Bearer ${this.opts.bearerToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  private async read(res: Response, what: string): Promise<unknown> {
    const text = await res.text();
    let body: { message?: string } | undefined;
    try {
      body = text ? (JSON.parse(text) as typeof body) : undefined;
    } catch {
      body = undefined;
    }
    if (res.ok) return body;
    const hint = res.status === 401 || res.status === 403 ? ' Check the developer API key and that the app belongs to that developer account.' : '';
    throw new CallingSettingsError(`HubSpot refused to ${what} the calling settings (${res.status}): ${body?.message ?? (text.slice(0, 200) || 'no message')}.${hint}`, res.status);
  }
}
