import { Actions, DEFAULT_ACTIONS, MappingRule, Mappings } from './mapping.schema';

export interface ResolvedMapping {
  extension: string;
  /** The most specific level that had a rule for this extension. */
  matched: 'extension' | 'organisation' | 'defaults' | 'none';
  /** The keys of the rules that applied, least specific first. */
  rules: string[];
  /** Undefined: the extension is unmapped, and its calls are skipped (and counted). */
  connection?: string;
  owner?: MappingRule['owner'];
  /** The extension's own label (only an extension rule's counts). */
  label?: string;
  country?: string;
  actions: Actions;
}

/**
 * Exact extension beats organisation wildcard beats defaults; each level overrides only the
 * keys it sets (actions key by key), so an extension rule can change just its owner.
 */
export function resolveMapping(mappings: Mappings, extension: string): ResolvedMapping {
  const levels: [ResolvedMapping['matched'], string, MappingRule | undefined][] = [['defaults', 'defaults', mappings.defaults]];
  const star = extension.indexOf('*');
  if (star > 0) {
    const org = `${extension.slice(0, star)}*`;
    levels.push(['organisation', `organisations.${org}`, mappings.organisations[org]]);
  }
  levels.push(['extension', `extensions.${extension}`, mappings.extensions[extension]]);

  const resolved: ResolvedMapping = { extension, matched: 'none', rules: [], actions: { ...DEFAULT_ACTIONS } };
  for (const [level, key, rule] of levels) {
    if (!rule) continue;
    resolved.matched = level;
    resolved.rules.push(key);
    if (rule.connection !== undefined) resolved.connection = rule.connection;
    if (rule.owner !== undefined) resolved.owner = rule.owner;
    if (rule.country !== undefined) resolved.country = rule.country;
    if (level === 'extension' && rule.label !== undefined) resolved.label = rule.label;
    if (rule.actions) Object.assign(resolved.actions, rule.actions);
  }
  return resolved;
}
