import { defaultAudience } from './salesforce-auth';
import { phoneSearch, soqlString, soslEscape } from './salesforce-queries';
import { lightningBase, newContactUrl, recordUrl } from './salesforce-urls';

describe('Salesforce URLs and query text', () => {
  it.each([
    ['https://acme.my.salesforce.com', 'https://acme.lightning.force.com'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://acme--uat.sandbox.lightning.force.com'],
    ['https://acme-dev-ed.develop.my.salesforce.com/', 'https://acme-dev-ed.develop.lightning.force.com'],
    ['https://na139.salesforce.com', 'https://na139.salesforce.com'],
    ['http://127.0.0.1:40123', 'http://127.0.0.1:40123'],
  ])('the Lightning domain of %s is %s', (instance, lightning) => {
    expect(lightningBase(instance)).toBe(lightning);
  });

  it('a configured Lightning URL wins; record and new-contact links are built on it', () => {
    const base = lightningBase('https://acme.my.salesforce.com', 'https://crm.acme.example/');
    expect(base).toBe('https://crm.acme.example');
    expect(recordUrl('https://acme.lightning.force.com', 'Contact', '0035g00000ABCDEAAA')).toBe('https://acme.lightning.force.com/lightning/r/Contact/0035g00000ABCDEAAA/view');
    expect(newContactUrl(base, '+15551234567')).toBe('https://crm.acme.example/lightning/o/Contact/new?defaultFieldValues=Phone=%2B15551234567');
  });

  it('escapes every SOSL reserved character, and SOQL literals cannot be closed early', () => {
    expect(soslEscape('+1 (555) 123-4567?*')).toBe('\\+1 \\(555\\) 123\\-4567\\?\\*');
    expect(soslEscape(`&|!{}[]^~:\\"'`)).toBe(`\\&\\|\\!\\{\\}\\[\\]\\^\\~\\:\\\\\\"\\'`);
    expect(soqlString("o'neil@example.com")).toBe("'o\\'neil@example.com'");
    expect(soqlString("x\\' OR Id != '")).toBe("'x\\\\\\' OR Id != \\''");
    expect(soqlString('a\nb')).toBe("'a\\nb'");
  });

  it('ORs the forms of a number in one phone-fields search over Contact, Lead and Account', () => {
    const sosl = phoneSearch({ raw: '0015551234567', digits: '0015551234567', e164: '+15551234567', national: '5551234567', forms: ['+15551234567', '5551234567', '0015551234567'] });
    expect(sosl).toMatch(/^FIND \{\\\+15551234567 OR 5551234567 OR 0015551234567\} IN PHONE FIELDS RETURNING Contact\(.*\), Lead\(.*WHERE IsConverted = false LIMIT 10\), Account\(.*\)$/);
  });

  it('the JWT audience is the production or sandbox login server', () => {
    expect(defaultAudience('https://login.salesforce.com')).toBe('https://login.salesforce.com');
    expect(defaultAudience('https://acme.my.salesforce.com')).toBe('https://login.salesforce.com');
    expect(defaultAudience('https://test.salesforce.com')).toBe('https://test.salesforce.com');
    expect(defaultAudience('https://acme--uat.sandbox.my.salesforce.com')).toBe('https://test.salesforce.com');
  });
});
