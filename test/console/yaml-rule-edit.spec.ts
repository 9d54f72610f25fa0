import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { applyRuleChange } from '../../src/admin/yaml-rule-edit';
import { parseConfig } from '../../src/config/config.loader';

const EXAMPLE = readFileSync(resolve(__dirname, '../../config/connector.yaml'), 'utf8');
const mappingsOf = (text: string) => (parseDocument(text).toJS() as { mappings: Record<string, any> }).mappings;

/** Lines of `after` that are not in `before` and the other way round, in order. */
function changedLines(before: string, after: string) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && a[start] === b[start]) start += 1;
  let end = 0;
  while (end < a.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end += 1;
  return { removed: a.slice(start, a.length - end), added: b.slice(start, b.length - end) };
}

describe('applyRuleChange (mapping edits saved to the YAML file)', () => {
  it("changes only the edited rule's lines: every comment and alignment elsewhere in the file stays", () => {
    const out = applyRuleChange(EXAMPLE, { level: 'extensions', key: '0003*210', rule: { owner: { id: 'agent-999' }, label: 'Ann Lee' } });
    expect(changedLines(EXAMPLE, out)).toEqual({ removed: ['      owner: { id: agent-210 }'], added: ['      owner: { id: agent-999 }'] });
    expect(mappingsOf(out).extensions['0003*210']).toEqual({ owner: { id: 'agent-999' }, label: 'Ann Lee' });
    expect(() => parseConfig(out, 'edited')).not.toThrow();
  });

  it('adds a new extension rule after the last one, its key quoted (YAML would read 0210 as a number)', () => {
    const out = applyRuleChange(EXAMPLE, { level: 'extensions', key: '0210', rule: { connection: 'demo' } });
    const { removed, added } = changedLines(EXAMPLE, out);
    expect(removed).toEqual([]);
    expect(added).toEqual(['    "0210":', '      connection: demo']);
    expect(mappingsOf(out).extensions['0210']).toEqual({ connection: 'demo' });
  });

  it("removes a rule, and a level left empty becomes {} (not null, which the file's validation refuses)", () => {
    const out = applyRuleChange(EXAMPLE, { level: 'extensions', key: '0003*210', rule: null });
    expect(mappingsOf(out).extensions).toEqual({});
    expect(() => parseConfig(out, 'edited')).not.toThrow();
    expect(out.split('\n').filter((l) => l.startsWith('#'))).toEqual(EXAMPLE.split('\n').filter((l) => l.startsWith('#')));
  });

  it('edits the defaults in place: only the changed line changes, its comment kept', () => {
    const out = applyRuleChange(EXAMPLE, { level: 'defaults', rule: { ...mappingsOf(EXAMPLE).defaults, country: 'BE' } });
    expect(mappingsOf(out).defaults.country).toBe('BE');
    expect(changedLines(EXAMPLE, out)).toEqual({
      removed: ['    country: US                     # for numbers VoipNow sends without an international prefix'],
      added: ['    country: BE # for numbers VoipNow sends without an international prefix'],
    });
  });

  it('a flow-style level is rewritten by the yaml library, still reading back as intended', () => {
    const text = 'connections:\n  demo: { type: file, contactsCsv: c.csv, callLogFile: l.jsonl }\nmappings:\n  extensions: { "210": { connection: demo } }  # short keys\n';
    const out = applyRuleChange(text, { level: 'extensions', key: '211', rule: { connection: 'demo', country: 'US' } });
    expect(mappingsOf(out).extensions).toEqual({ '210': { connection: 'demo' }, '211': { connection: 'demo', country: 'US' } });
  });
});
