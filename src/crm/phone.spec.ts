import { formatNumber, phoneQuery } from './phone';

describe(phoneQuery.name, () => {
  it("reads VoipNow's 00 international prefix whatever the default country", () => {
    for (const country of ['US', 'BE', 'GB', undefined]) {
      expect(phoneQuery('0015551234567', country)).toMatchObject({ e164: '+15551234567', national: '5551234567' });
    }
  });

  it('searches E.164 first, then the national forms a CRM may hold, then the raw digits', () => {
    expect(phoneQuery('+15551234567', 'US')?.forms).toEqual(['+15551234567', '5551234567', '15551234567']);
    expect(phoneQuery('02071234567', 'GB')?.forms).toEqual(['+442071234567', '2071234567', '02071234567']);
  });

  it('a national number needs the mapping country to become E.164', () => {
    expect(phoneQuery('(555) 123-4567', 'US')?.e164).toBe('+15551234567');
    expect(phoneQuery('0470123456', 'BE')?.e164).toBe('+32470123456');
  });

  it('a number the library cannot parse is searched as its digits', () => {
    expect(phoneQuery('999999999999999999', 'US')).toEqual({ raw: '999999999999999999', e164: undefined, national: undefined, digits: '999999999999999999', forms: ['999999999999999999'] });
  });

  it('extensions, anonymous and empty numbers are not looked up', () => {
    for (const n of ['0003*210', '210', 'anonymous', '', undefined]) expect(phoneQuery(n, 'US')).toBeUndefined();
  });
});

describe(formatNumber.name, () => {
  it('formats for people, and leaves what it cannot parse alone', () => {
    expect(formatNumber('0015551234567')).toBe('+1 555 123 4567');
    expect(formatNumber('0003*210')).toBe('0003*210');
  });
});
