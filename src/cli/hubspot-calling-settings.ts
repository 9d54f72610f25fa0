/**
 * Registers (or shows, or deletes) the HubSpot calling settings of the app that embeds the
 * connector's panel. The developer account's API key comes from the environment only.
 *
 *   HUBSPOT_DEVELOPER_API_KEY=… npm run hubspot-calling-settings -- --app-id 1234567 --url https://connector.example.com/embed/hubspot
 */
import { parseArgs } from 'node:util';
import { CallingSettingsClient, CallingSettingsError, panelSettings } from '../embed/hubspot-calling-settings';

const USAGE = `Usage: npm run hubspot-calling-settings -- --app-id APP_ID --url https://CONNECTOR/embed/hubspot
         [--name "VoipNow"] [--width 360] [--height 560] [--not-ready] [--base-path https://api.hubapi.com]
       npm run hubspot-calling-settings -- --app-id APP_ID --show
       npm run hubspot-calling-settings -- --app-id APP_ID --delete
Creates the app's calling settings, or updates them to these values (inbound calling on, shown in
HubSpot's calling remote). Needs HUBSPOT_DEVELOPER_API_KEY (or HUBSPOT_DEVELOPER_TOKEN) in the
environment. Without --not-ready the app is marked ready (isReady: true); use --not-ready while testing.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'app-id': { type: 'string' },
        url: { type: 'string' },
        name: { type: 'string', default: 'VoipNow' },
        width: { type: 'string', default: '360' },
        height: { type: 'string', default: '560' },
        'not-ready': { type: 'boolean', default: false },
        'base-path': { type: 'string', default: process.env.HUBSPOT_BASE_PATH ?? 'https://api.hubapi.com' },
        show: { type: 'boolean', default: false },
        delete: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values['app-id'] || (!values.show && !values.delete && !values.url)) {
    console.error(USAGE);
    return 2;
  }
  try {
    const client = new CallingSettingsClient({
      basePath: values['base-path'],
      appId: values['app-id'],
      developerApiKey: process.env.HUBSPOT_DEVELOPER_API_KEY?.trim() || undefined,
      bearerToken: process.env.HUBSPOT_DEVELOPER_TOKEN?.trim() || undefined,
    });
    if (values.show) {
      const current = await client.get();
      console.log(current ? JSON.stringify(current, null, 2) : `App ${values['app-id']} has no calling settings.`);
      return 0;
    }
    if (values.delete) {
      console.log((await client.remove()) ? `Calling settings of app ${values['app-id']} deleted.` : `App ${values['app-id']} had no calling settings.`);
      return 0;
    }
    // Neither --show nor --delete: the check above made sure of --url.
    const url = values.url ?? '';
    const wanted = panelSettings({ name: values.name, url, width: Number(values.width), height: Number(values.height), isReady: !values['not-ready'] });
    const { action, settings } = await client.apply(wanted);
    console.log(`Calling settings ${action} for app ${values['app-id']}:\n${JSON.stringify(settings, null, 2)}`);
    return 0;
  } catch (err) {
    console.error(err instanceof CallingSettingsError || err instanceof TypeError ? err.message : err);
    return 1;
  }
}

void main().then((code) => process.exit(code));
