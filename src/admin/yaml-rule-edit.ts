import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, Pair, parseDocument, Scalar, YAMLMap } from 'yaml';

export type RuleLevel = 'defaults' | 'organisations' | 'extensions';

/** One mapping rule to set (an object) or remove (null) in the YAML text. */
export interface RuleChange {
  level: RuleLevel;
  /** The organisation ("0003*") or extension ("0003*210") key; none for defaults. */
  key?: string;
  rule: Record<string, unknown> | null;
}

/**
 * Applies a rule change to a configuration file's text, keeping everything else as it was: the
 * rule is changed on the yaml Document (so comments inside it stay), and only the changed rule's
 * lines are spliced into the original text, so the rest of the file (comments, alignment, blank
 * lines, key order) stays byte for byte. When the splice cannot be done safely (a flow-style map,
 * a missing section), the whole document is written by the yaml library instead; either way the
 * result is checked to read back as the intended document.
 */
export function applyRuleChange(text: string, change: RuleChange): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the file does not parse as YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const parentPath = change.level === 'defaults' ? ['mappings'] : ['mappings', change.level];
  const key = change.level === 'defaults' ? 'defaults' : change.key;
  if (key === undefined) throw new Error(`a rule for ${change.level} needs the organisation or extension it applies to`);
  const parent = doc.getIn(parentPath, true);
  const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key) : undefined;
  const last = isMap(parent) ? parent.items.at(-1) : undefined;
  const before: Ranges = {
    keyStart: (pair?.key as Scalar | undefined)?.range?.[0],
    valueEnd: (pair?.value as { range?: number[] } | null | undefined)?.range?.[1],
    lastKeyStart: (last?.key as Scalar | undefined)?.range?.[0],
    lastValueEnd: (last?.value as { range?: number[] } | null | undefined)?.range?.[1],
    parentKeyEnd: change.level === 'defaults' ? undefined : levelKey(doc, change.level)?.range?.[1],
  };

  // The edit, on the document.
  if (change.rule === null) {
    if (pair && isMap(parent)) parent.delete(pair.key);
  } else if (pair && isMap(pair.value)) {
    syncMap(doc, pair.value, change.rule);
  } else if (pair) {
    pair.value = doc.createNode(change.rule);
  } else {
    if (!isMap(doc.getIn(parentPath, true))) doc.setIn(parentPath, doc.createNode({}));
    const map = doc.getIn(parentPath, true) as YAMLMap;
    const k = new Scalar(key);
    // Extension keys are always quoted: YAML reads an unquoted 0210 as the number 210.
    if (change.level !== 'defaults') k.type = Scalar.QUOTE_DOUBLE;
    map.add(doc.createPair(k, change.rule));
  }
  const intended: unknown = doc.toJS();
  const spliced = splice(text, doc, parent, pair, change, before);
  if (spliced !== undefined && isDeepStrictEqual(parseDocument(spliced).toJS(), intended)) return spliced;
  const whole = doc.toString();
  if (!isDeepStrictEqual(parseDocument(whole).toJS(), intended)) throw new Error('the edited file would not read back as intended; edit it by hand');
  return whole;
}

function levelKey(doc: Document, level: string): Scalar | undefined {
  const mappings = doc.get('mappings', true);
  const pair = isMap(mappings) ? mappings.items.find((p) => isScalar(p.key) && p.key.value === level) : undefined;
  return pair?.key as Scalar | undefined;
}

/** Where the edited rule, and the last rule of its level, were in the original text. */
interface Ranges {
  keyStart?: number;
  valueEnd?: number;
  lastKeyStart?: number;
  lastValueEnd?: number;
  /** The end of the level's own key (`extensions`), for a level left empty. */
  parentKeyEnd?: number;
}

/** Only the rule's own lines change; undefined when that cannot be done (then the whole document is written). */
function splice(text: string, doc: Document, parent: unknown, pair: Pair | undefined, change: RuleChange, before: Ranges): string | undefined {
  if (!isMap(parent) || parent.flow) return undefined;
  if (pair && before.keyStart !== undefined && before.valueEnd !== undefined) {
    const { keyStart, valueEnd } = before;
    const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
    if (text.slice(lineStart, keyStart).trim() !== '') return undefined;
    if (change.rule === null) {
      const end = text[valueEnd - 1] === '\n' ? valueEnd : text.indexOf('\n', valueEnd) + 1 || text.length;
      const removed = text.slice(0, lineStart) + text.slice(end);
      if (parent.items.length > 0 || before.parentKeyEnd === undefined) return removed;
      // The level's last rule: `extensions:` with nothing under it would read as null, so it becomes `extensions: {}`.
      const colon = removed.indexOf(':', before.parentKeyEnd) + 1;
      return colon > 0 ? `${removed.slice(0, colon)} {}${removed.slice(colon)}` : undefined;
    }
    const replaced = keepUnchangedLines(text.slice(keyStart, valueEnd), pairText(doc, pair, keyStart - lineStart));
    return text.slice(0, keyStart) + (text[valueEnd - 1] === '\n' ? replaced : replaced.replace(/\n$/, '')) + text.slice(valueEnd);
  }
  if (change.rule === null) return text;
  // A new rule, after the last one of its level.
  const { lastKeyStart, lastValueEnd } = before;
  if (lastKeyStart === undefined || lastValueEnd === undefined) return undefined;
  const column = lastKeyStart - (text.lastIndexOf('\n', lastKeyStart - 1) + 1);
  const end = text[lastValueEnd - 1] === '\n' ? lastValueEnd : text.indexOf('\n', lastValueEnd) + 1;
  if (end <= 0) return undefined;
  const added = parent.items.at(-1);
  if (!added) return undefined;
  return text.slice(0, end) + ' '.repeat(column) + pairText(doc, added, column) + text.slice(end);
}

/**
 * The yaml library writes a comment one space after its value; a line of the rule that did not
 * change otherwise keeps its own spacing (comments aligned in a column stay aligned).
 */
function keepUnchangedLines(original: string, rendered: string): string {
  const norm = (line: string) => line.replace(/\s+#/, ' #').trimEnd();
  const unused = original.split('\n');
  return rendered
    .split('\n')
    .map((line) => {
      const i = unused.findIndex((o) => norm(o) === norm(line));
      return i < 0 ? line : unused.splice(i, 1)[0];
    })
    .join('\n');
}

/** `key: value` as the yaml library writes it, indented to `column` (the first line's indent is the caller's). */
function pairText(doc: Document, pair: Pair, column: number): string {
  const single = new Document(undefined, doc.options);
  const map = new YAMLMap();
  map.items.push(pair);
  single.contents = map;
  const lines = single.toString().replace(/\n$/, '').split('\n');
  return lines.map((l, i) => (i === 0 || l === '' ? l : ' '.repeat(column) + l)).join('\n') + '\n';
}

/** Makes `map` hold exactly `value`, changing nodes in place so comments on unchanged keys stay. */
function syncMap(doc: Document, map: YAMLMap, value: Record<string, unknown>): void {
  for (const item of [...map.items]) {
    const k = isScalar(item.key) ? String(item.key.value) : undefined;
    if (k === undefined || !(k in value)) map.delete(item.key);
  }
  for (const [k, v] of Object.entries(value)) {
    const existing = map.items.find((p) => isScalar(p.key) && String(p.key.value) === k);
    if (!existing) map.add(doc.createPair(k, v));
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && isMap(existing.value)) syncMap(doc, existing.value, v as Record<string, unknown>);
    // Same type: the scalar keeps its style (quotes) and its comment.
    else if (isScalar(existing.value) && typeof existing.value.value === typeof v && (v === null || typeof v !== 'object')) existing.value.value = v;
    else existing.value = doc.createNode(v);
  }
}
