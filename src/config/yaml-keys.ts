import { Document, isMap, isScalar, LineCounter } from 'yaml';

export interface KeyProblem {
  path: string;
  message: string;
  line?: number;
}

/** The maps whose keys are extension numbers: YAML's own rules for plain keys can change them. */
const NUMBER_KEYED = [
  ['mappings', 'extensions'],
  ['mappings', 'organisations'],
];

/**
 * What YAML's parser accepts but changes silently in an extension map: an unquoted key with a
 * leading zero is a number (`0210:` becomes 210, `001:` becomes 1), and `210:` next to `"210":`
 * are two keys to YAML but one extension to us (the last would silently win).
 */
export function checkNumberKeys(doc: Document, lines: LineCounter, text: string): KeyProblem[] {
  const problems: KeyProblem[] = [];
  for (const path of NUMBER_KEYED) {
    const map = doc.getIn(path, true);
    if (!isMap(map)) continue;
    const seen = new Map<string, number | undefined>();
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const range = pair.key.range;
      const line = range ? lines.linePos(range[0]).line : undefined;
      const written = range ? text.slice(range[0], range[1]) : key;
      const where = `${path.join('.')}.${written}`;
      if (typeof pair.key.value !== 'string' && written !== key) {
        problems.push({ path: where, line, message: `YAML reads the unquoted key ${written} as the number ${key}; quote it: "${written}"` });
        continue;
      }
      if (seen.has(key)) {
        const first = seen.get(key);
        problems.push({ path: where, line, message: `duplicate extension "${key}"${first ? ` (also at line ${first})` : ''}: keep one rule` });
        continue;
      }
      seen.set(key, line);
    }
  }
  return problems;
}

/** The line of the deepest key on `path` that the file has, so a message can say where to look. */
export function lineOf(doc: Document, lines: LineCounter, path: PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair || !isScalar(pair.key)) break;
    if (pair.key.range) line = lines.linePos(pair.key.range[0]).line;
    node = pair.value;
  }
  return line;
}
