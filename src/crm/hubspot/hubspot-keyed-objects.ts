import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum, PublicAssociationsForObject } from '@hubspot/api-client/lib/codegen/crm/objects';
import { PropertyCreateFieldTypeEnum, PropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/properties';
import { Logger } from 'pino';
import { CrmError } from '../crm-provider';
import { MAX_IN_VALUES, unique } from './hubspot-records';

/** The property group HubSpot files each object type's own properties under. */
const GROUP = { calls: 'callinformation', contacts: 'contactinformation', tasks: 'taskinformation' } as const;

/** Runs one request through the provider: budget, time-out, OAuth refresh, classified errors. */
export type HubSpotRunner = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export interface NewObject {
  properties: Record<string, string>;
  associations?: PublicAssociationsForObject[];
}

/**
 * Objects the connector creates at most once per key (calls per call key, contacts per caller
 * number, follow-up tasks per key), the key held in a custom property. When the connector creates
 * that property it makes it unique (`hasUniqueValue`), so HubSpot itself refuses a second object
 * with the same key, and an object can be read back by its key (`idProperty`) at once. Searching
 * cannot do that: HubSpot's search index lags writes by seconds, so a retry shortly after a lost
 * create answer would not find the object and would create it twice. A portal whose property
 * already exists without uniqueness (created by an older connector; HubSpot cannot make an
 * existing property unique), or an object type on which HubSpot refuses a unique property, keeps
 * working through search, with that lag's risk, and a warning says so.
 */
export class KeyedObjects {
  private definition?: Promise<{ unique: boolean }>;

  constructor(
    private readonly client: Client,
    private readonly run: HubSpotRunner,
    private readonly logger: Logger,
    private readonly objectType: 'calls' | 'contacts' | 'tasks',
    readonly property: string,
    private readonly label: string,
  ) {}

  /** Whether HubSpot enforces the key's uniqueness; creates the property (unique) when it is missing. */
  ensureProperty(): Promise<{ unique: boolean }> {
    this.definition ??= this.run('ensureProperty', async () => {
      const read = async () => (await this.client.crm.properties.coreApi.getByName(this.objectType, this.property)).hasUniqueValue === true;
      let isUnique: boolean;
      // Set by the catch below; TypeScript would otherwise take it for always false.
      let refused = false as boolean;
      try {
        isUnique = await read();
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        const create = (hasUniqueValue: boolean) =>
          this.client.crm.properties.coreApi
            .create(this.objectType, {
              name: this.property,
              label: this.label,
              type: PropertyCreateTypeEnum.String,
              fieldType: PropertyCreateFieldTypeEnum.Text,
              groupName: GROUP[this.objectType],
              hasUniqueValue,
            })
            .then((p) => p.hasUniqueValue === true)
            // Another instance created it first: read what it made.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the HubSpot client's error on as it came
            .catch((e: unknown) => ((e as { code?: number }).code === 409 ? read() : Promise.reject(e)));
        // An object type on which HubSpot refuses unique properties still gets its key property, found by search.
        isUnique = await create(true).catch((e: unknown) => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the HubSpot client's error on as it came
          if ((e as { code?: number }).code !== 400) return Promise.reject(e);
          refused = true;
          return create(false);
        });
      }
      if (!isUnique) {
        this.logger.warn(
          { event: 'crm.key_property_not_unique', objectType: this.objectType, property: this.property },
          `HubSpot ${this.objectType} property ${this.property} is not unique, so a retry just after a lost create answer can create a duplicate (HubSpot's search lags). ${
            refused ? `This portal refused a unique property on ${this.objectType}, so it was created plain.` : "Name a new property in the connection's settings; the connector creates it unique."
          }`,
        );
      }
      return { unique: isUnique };
    }).catch((err: unknown) => {
      this.definition = undefined;
      throw err;
    });
    return this.definition;
  }

  /** Objects already carrying these keys: key → HubSpot id (read by key when unique, else searched). */
  async find(keys: string[], properties: string[] = []): Promise<Map<string, { id: string; properties: Record<string, string | null> }>> {
    const { unique: isUnique } = await this.ensureProperty();
    const found = new Map<string, { id: string; properties: Record<string, string | null> }>();
    const wanted = unique(keys);
    const props = unique([this.property, ...properties]);
    for (let i = 0; i < wanted.length; i += MAX_IN_VALUES) {
      const values = wanted.slice(i, i + MAX_IN_VALUES);
      const page = isUnique
        ? // A 207 lists the keys no object holds in `errors`; only `results` matter here.
          await this.run('findByKey', () =>
            this.client.crm.objects.batchApi.read(this.objectType, { idProperty: this.property, inputs: values.map((id) => ({ id })), properties: props, propertiesWithHistory: [] }),
          )
        : await this.run('findByKey', () =>
            this.client.crm.objects.searchApi.doSearch(this.objectType, {
              filterGroups: [
                {
                  filters: [
                    values.length === 1 ? { propertyName: this.property, operator: FilterOperatorEnum.Eq, value: values[0] } : { propertyName: this.property, operator: FilterOperatorEnum.In, values },
                  ],
                },
              ],
              properties: props,
              limit: 200,
              after: undefined,
              sorts: [],
            }),
          );
      for (const r of page.results) found.set(String(r.properties[this.property]), { id: r.id, properties: r.properties });
    }
    return found;
  }

  /** Creates the object unless one holds its key already (then that one, `created: false`). */
  async create(key: string, input: NewObject, what: string): Promise<{ id: string; created: boolean }> {
    await this.ensureProperty();
    const body = { properties: { ...input.properties, [this.property]: key }, associations: input.associations ?? [] };
    try {
      const created = await this.run(what, () => this.client.crm.objects.basicApi.create(this.objectType, body));
      return { id: created.id, created: true };
    } catch (err) {
      const holder = err instanceof CrmError ? conflictHolder(err, this.property) : undefined;
      if (!holder) throw err;
      // The message names the holder; read it by key if HubSpot ever stops naming it.
      const id = holder.existingId ?? (await this.find([key])).get(key)?.id;
      if (!id) throw err;
      return { id, created: false };
    }
  }

  /** One batch create; a refusal of the whole batch (a bad input, a key taken meanwhile) throws. */
  async createBatch(inputs: { key: string; object: NewObject }[], what: string): Promise<Map<string, string>> {
    await this.ensureProperty();
    const res = await this.run(what, () =>
      this.client.crm.objects.batchApi.create(this.objectType, {
        inputs: inputs.map((i) => ({ properties: { ...i.object.properties, [this.property]: i.key }, associations: i.object.associations ?? [] })),
      }),
    );
    return new Map(res.results.map((r) => [String(r.properties[this.property]), r.id]));
  }
}

/**
 * HubSpot refuses a value a unique property already holds with 400 VALIDATION_ERROR: "Cannot set
 * PropertyValueCoordinates{portalId=…, objectTypeId=…, propertyName=<name>, value=<value>} on
 * <id it had allocated>. <id of the holder> already has that value." (the SDK keeps only the
 * message, not the body's errorTokens). Undefined when the refusal is about anything else.
 */
export function conflictHolder(err: CrmError, property: string): { value: string; existingId?: string } | undefined {
  if (err.opts.status !== 400 && err.opts.status !== 409) return undefined;
  const m = /PropertyValueCoordinates\{.*?propertyName=([^,}]+), value=(.*)\} on \d+\. (\d+)? ?already has that value/s.exec(err.message);
  if (!m || m[1] !== property) return undefined;
  return { value: m[2], existingId: m[3] };
}
