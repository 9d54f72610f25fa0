import { TEST_ADMIN_TOKEN, TestApp, startTestApp } from './support/test-app';

/** The `file` CRM's contact page, which the agent card's record link opens. */
describe('File CRM contact page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** The record URL as the provider hands it to the card, through the admin test lookup. */
  const recordUrl = async (number: string): Promise<string> => {
    const res = await fetch(`${t.url}/admin/lookup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection: 'demo', number, fresh: true }),
    });
    const body = (await res.json()) as { matches: { url: string }[] };
    return body.matches[0].url;
  };

  it("opens from the card's signed link and shows the contact", async () => {
    const url = await recordUrl('+15551234567');
    expect(url).toMatch(/^\/file-crm\/demo\/contacts\/c-001\?sig=/);
    const res = await fetch(`${t.url}${url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<h1>Jane Roe</h1>');
    expect(html).toContain('Acme Corp');
  });

  it('refuses a link without its signature, with a forged one, and one signed for another contact', async () => {
    const url = await recordUrl('+15551234567');
    const [path, sig] = url.split('?sig=');
    for (const bad of [path, `${path}?sig=`, `${path}?sig=${sig.slice(0, -2)}AA`, `/file-crm/demo/contacts/c-002?sig=${sig}`]) {
      const res = await fetch(`${t.url}${bad}`);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toMatch(/open it from the agent page/);
    }
  });
});
