import { fileProvider } from './file';
import { hubspotProvider } from './hubspot';
import { salesforceProvider } from './salesforce';

/**
 * Every CRM type the connector knows: adding a CRM is one folder under src/crm/ and one line here.
 * Config validation and the registry both read this list; nothing else switches on a CRM type.
 */
export const CRM_PROVIDERS = [fileProvider, hubspotProvider, salesforceProvider] as const;
