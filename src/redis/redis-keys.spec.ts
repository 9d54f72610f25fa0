import { CrmConnectionKeys, RedisKeys } from './redis-keys';

/**
 * The key strings are where stored data lives: an upgrade that changed one would orphan what the
 * previous version wrote (calls, markers, links, bindings, sessions). Each is pinned here.
 */
describe(RedisKeys.name, () => {
  const keys = new RedisKeys('{vncc}');
  const number = { e164: '+15551234567', digits: '15551234567' };

  const pinned: [string | string[], string | string[]][] = [
    // Call state: CallID and extension escaped as in job ids (escapeIdPart).
    [keys.call('1700000000.123', '0003*210'), '{vncc}:call:1700000000.123:0003~2A210'],
    [keys.legs('17:00/x'), '{vncc}:legs:17~3A00~2Fx'],
    [keys.answered('1700000000.123'), '{vncc}:answered:1700000000.123'],
    [keys.wrapUp('1700000000.123', 'sf-eu'), '{vncc}:wrap-up:1700000000.123:sf-eu'],
    [keys.recentCalls(), '{vncc}:recent-calls'],
    // Call logging.
    [keys.loggedMarker('sf-eu', 'vn-1700000000.123'), '{vncc}:logged:sf-eu:vn-1700000000.123'],
    [keys.loggedFollowUp('sf-eu', 'vn-1700000000.123'), '{vncc}:logged:sf-eu:vn-1700000000.123:follow-up'],
    [keys.logClaim('sf-eu', 'vn-1700000000.123'), '{vncc}:log-claim:sf-eu:vn-1700000000.123'],
    // CRM.
    [keys.lookup('sf-eu', number), '{vncc}:lookup:sf-eu:+15551234567'],
    [keys.lookup('sf-eu', { digits: '5551234' }), '{vncc}:lookup:sf-eu:5551234'],
    [keys.contactCreateLock('hub', number), '{vncc}:contact-create:hub:+15551234567'],
    [keys.contactCreateLock('hub', { digits: '5551234' }), '{vncc}:contact-create:hub:5551234'],
    [keys.budget('hub'), '{vncc}:budget:hub'],
    [keys.paused('hub'), '{vncc}:paused:hub'],
    [keys.pausedJobs('hub'), '{vncc}:paused-jobs:hub'],
    [keys.owner('sf-eu', 'ann@example.com'), '{vncc}:owner:sf-eu:ann@example.com'],
    [keys.crm('sf-eu').prefix, '{vncc}:crm:sf-eu'],
    [keys.crm('sf-eu').session(), '{vncc}:crm:sf-eu:session'],
    [keys.crm('sf-eu').grantLock(), '{vncc}:crm:sf-eu:grant-lock'],
    [keys.crm('sf-eu').refreshToken(), '{vncc}:crm:sf-eu:refresh-token'],
    [keys.crm('hub').accessToken(), '{vncc}:crm:hub:access-token'],
    [keys.crm('sf-eu').newLead('+1 (555) 123-4567'), '{vncc}:crm:sf-eu:new-lead:15551234567'],
    [keys.crm('sf-eu').newLead('anonymous'), '{vncc}:crm:sf-eu:new-lead:anonymous'],
    // Screen pop.
    [keys.updates('0003*210'), '{vncc}:updates:0003*210'],
    [keys.updatesChannelPrefix(), '{vncc}:updates:'],
    [keys.updatesLog('0003*210'), '{vncc}:updates-log:0003*210'],
    [keys.updatesOnce('q1w2e3'), '{vncc}:updates-once:q1w2e3'],
    [keys.agentLinks(), '{vncc}:agent-links'],
    [keys.revokedAgentLinks(), '{vncc}:agent-links:revoked'],
    // Embedded panels.
    [keys.panelBinding('a1b2c3d4e5'), '{vncc}:embed:binding:a1b2c3d4e5'],
    [keys.panelBindings(), '{vncc}:embed:bindings'],
  ];

  it.each(pinned)('%s', (actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('every key and channel starts with the prefix (so a hash-tagged prefix keeps them in one Cluster slot)', () => {
    for (const [actual] of pinned) for (const key of [actual].flat()) expect(key.startsWith('{vncc}:')).toBe(true);
  });

  it('every key family is pinned above', () => {
    const families = Object.getOwnPropertyNames(RedisKeys.prototype).filter((n) => n !== 'constructor');
    const crmFamilies = Object.getOwnPropertyNames(CrmConnectionKeys.prototype).filter((n) => n !== 'constructor');
    // One line per family in `pinned` (some twice): adding a key builder means pinning its string here.
    expect(families.sort()).toEqual(
      [
        'call',
        'legs',
        'answered',
        'wrapUp',
        'recentCalls',
        'loggedMarker',
        'loggedFollowUp',
        'logClaim',
        'lookup',
        'contactCreateLock',
        'budget',
        'paused',
        'pausedJobs',
        'owner',
        'crm',
        'updates',
        'updatesChannelPrefix',
        'updatesLog',
        'updatesOnce',
        'agentLinks',
        'revokedAgentLinks',
        'panelBinding',
        'panelBindings',
      ].sort(),
    );
    expect(crmFamilies.sort()).toEqual(['accessToken', 'grantLock', 'newLead', 'refreshToken', 'session']);
  });

  it('a CRM connection keeps its keys under the prefix it is given (ProviderDeps.keyPrefix)', () => {
    expect(new CrmConnectionKeys('t1:crm:x').session()).toBe('t1:crm:x:session');
  });
});
