import { parse } from 'csv-parse/sync';
import { appendFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ActivityPatch, CallLogInput, CrmError, CrmHealth, CrmMatch, CrmProvider, FollowUpInput, LoggedActivity, NewContactInput, PhoneQuery } from '../crm-provider';
import { phoneQuery } from '../phone';

interface ContactRow {
  id: string;
  name: string;
  company?: string;
  phone?: string;
  mobile?: string;
  email?: string;
  owner?: string;
}

/** The CSV columns that hold numbers, in the order a match reports them. */
const PHONE_COLUMNS = ['phone', 'mobile'] as const;

/** The CSV's rows, each with its numbers in every form, and the rows by number. */
interface Contacts {
  mtimeMs: number;
  rows: (ContactRow & { numbers: string[]; columns: Partial<Record<string, Set<string>>> })[];
  byNumber: Map<string, ContactRow[]>;
}

/** One line of the call log, or undefined for a torn one (a crash mid-append). */
function parseLine(line: string): (Record<string, unknown> & { id?: string; type?: string }) | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown> & { id?: string; type?: string };
  } catch {
    return undefined;
  }
}

/** Pending writes per call-log file (see FileProvider.writing). */
const WRITES = new Map<string, Promise<unknown>>();

/**
 * The reference CrmProvider: contacts from a CSV (re-read when it changes), call logs appended
 * to a JSON-lines file. One process writes the log file; for several instances use a real CRM.
 */
export class FileProvider implements CrmProvider {
  readonly type = 'file';
  private contacts?: Contacts;
  private reading?: { mtimeMs: number; contacts: Promise<Contacts> };
  /** One stat() of the CSV shared by the lookups that start while it runs (a burst of calls is one syscall, not one each). */
  private statting?: Promise<number>;
  private loggedKeys?: Map<string, string>;
  /** The log ends in a line torn by a crash: the next line written starts on a fresh one, or both would be lost. */
  private tornTail = false;
  /**
   * The tail of this connection's writes (log lines, rewrites, new contacts), one at a time per
   * log file, shared with the provider a config reload builds for the same file: a rewrite must
   * not run beside an append.
   */
  private get writing(): Promise<unknown> {
    return WRITES.get(this.files.callLogFile) ?? Promise.resolve();
  }

  private set writing(tail: Promise<unknown>) {
    WRITES.set(this.files.callLogFile, tail);
  }

  constructor(
    readonly connection: string,
    private readonly files: { contactsCsv: string; callLogFile: string; country: string },
    private readonly signPath: (path: string) => string = () => '',
  ) {}

  /** The connector's own page for a contact (this CRM has no web UI), signed so only cards link to it. */
  static contactPath(connection: string, id: string): string {
    return `/file-crm/${encodeURIComponent(connection)}/contacts/${encodeURIComponent(id)}`;
  }

  async contactById(id: string): Promise<CrmMatch | undefined> {
    const row = (await this.loadContacts()).find((r) => r.id === id);
    return row && this.toMatch(row);
  }

  async findContactsByPhone(query: PhoneQuery): Promise<CrmMatch[]> {
    const contacts = await this.indexedContacts();
    const found = new Set<ContactRow>();
    for (const form of [query.e164, query.national, query.digits]) {
      for (const row of (form && contacts.byNumber.get(form)) || []) found.add(row);
    }
    // Several rows: in the CSV's order, as a scan finds them.
    const rows = found.size > 1 ? contacts.rows.filter((row) => found.has(row)) : [...found];
    const forms = [query.e164, query.national, query.digits].filter((f): f is string => !!f);
    return rows.map((row) => {
      // The column that holds the number: what the card shows as the reason for the match.
      const columns = (row as Contacts['rows'][number]).columns;
      const field = PHONE_COLUMNS.find((c) => forms.some((f) => columns[c]?.has(f)));
      return { ...this.toMatch(row), ...(field ? { matchedOn: { object: 'contact', field } } : {}) };
    });
  }

  private contactUrl(id: string): string {
    const path = FileProvider.contactPath(this.connection, id);
    return `${path}?sig=${this.signPath(path)}`;
  }

  private toMatch(row: ContactRow): CrmMatch {
    return {
      connection: this.connection,
      recordType: 'contact',
      id: row.id,
      displayName: row.name,
      company: row.company || undefined,
      email: row.email || undefined,
      phone: row.phone || row.mobile || undefined,
      ownerId: row.owner || undefined,
      url: this.contactUrl(row.id),
    };
  }

  async logCall(input: CallLogInput): Promise<LoggedActivity> {
    // Serialised so two jobs for one key cannot both miss the other's line.
    const result = this.writing.then(() => this.append(input));
    this.writing = result.catch(() => undefined);
    return result;
  }

  /**
   * Rewrites the call's line with the patch applied, so the log stays one line per activity with
   * its current state (and `updatedAt`), as a person reads it: the file is written whole to a
   * temporary file beside it, flushed and renamed over it, so a crash leaves the old file or the
   * new one, never half of one. A patch that changes nothing writes nothing.
   */
  async updateCall(activityId: string, patch: ActivityPatch): Promise<void> {
    const result = this.writing.then(() => this.rewrite(activityId, patch));
    this.writing = result.catch(() => undefined);
    return result;
  }

  /** A task line (`"type":"task"`, status not-started, due date) in the call log, once per key. */
  async createTask(input: FollowUpInput): Promise<LoggedActivity> {
    const result = this.writing.then(async () => {
      const logged = await this.loadLoggedKeys();
      const existing = logged.get(input.key);
      if (existing) return { id: existing, created: false };
      const id = `task-${logged.size + 1}-${input.key}`;
      await this.appendLine({
        type: 'task',
        id,
        key: input.key,
        createdAt: new Date().toISOString(),
        dueDate: new Date(input.dueAt).toISOString().slice(0, 10),
        status: 'not-started',
        subject: input.subject,
        description: input.description,
        contactId: input.match?.id,
        ownerId: input.ownerId,
      });
      logged.set(input.key, id);
      return { id, created: true };
    });
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async appendLine(line: object): Promise<void> {
    try {
      await mkdir(dirname(this.files.callLogFile), { recursive: true });
      await appendFile(this.files.callLogFile, `${this.tornTail ? '\n' : ''}${JSON.stringify(line)}\n`);
      this.tornTail = false;
    } catch (err) {
      throw new CrmError('retryable', `Cannot append to ${this.files.callLogFile}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async rewrite(activityId: string, patch: ActivityPatch): Promise<void> {
    const file = this.files.callLogFile;
    const text = await readFile(file, 'utf8').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new CrmError('retryable', `Cannot read ${file}: ${(err as Error).message}`, { cause: err });
    });
    const lines = text.split('\n');
    const quoted = JSON.stringify(activityId);
    const at = lines.findIndex((l) => l.includes(quoted) && parseLine(l)?.id === activityId);
    const entry = at >= 0 ? parseLine(lines[at]) : undefined;
    if (!entry || entry.type === 'task') throw new CrmError('permanent', `There is no call ${activityId} in ${file} to update.`);
    const { updatedAt: _before, ...current } = entry;
    const next: Record<string, unknown> = { ...current };
    if (patch.subject !== undefined) next.subject = patch.subject;
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.disposition !== undefined) next.disposition = patch.disposition;
    if (patch.match) next.contactId = patch.match.id;
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    lines[at] = JSON.stringify({ ...next, updatedAt: new Date().toISOString() });
    const temp = `${file}.${process.pid}.tmp`;
    try {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(lines.join('\n'));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new CrmError('retryable', `Cannot rewrite ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async health(): Promise<CrmHealth> {
    try {
      const rows = await this.loadContacts();
      return { ok: true, detail: `${rows.length} contacts in ${this.files.contactsCsv}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  async findUserIdByEmail(email: string): Promise<string | undefined> {
    return email;
  }

  /** Appends the caller to the CSV, under the header's own columns; the id comes from the key, so a retry finds its row. */
  async createContact(input: NewContactInput): Promise<CrmMatch> {
    const result = this.writing.then(async () => {
      const id = `new-${input.key}`;
      const rows = await this.loadContacts();
      const existing = rows.find((r) => r.id === id);
      if (existing) return this.toMatch(existing);
      const text = await readFile(this.files.contactsCsv, 'utf8');
      const header = (text.split(/\r?\n/, 1)[0] ?? '').split(',').map((c) => c.trim());
      if (!header.includes('id') || !header.includes('phone')) {
        throw new CrmError('permanent', `Contacts file ${this.files.contactsCsv} has no id or phone column to add a contact under.`);
      }
      const values: Record<string, string | undefined> = { id, name: input.name ?? input.number, phone: input.number, owner: input.ownerId };
      const line = header.map((c) => `"${csvText(values[c] ?? '').replace(/"/g, '""')}"`).join(',');
      await appendFile(this.files.contactsCsv, `${text.endsWith('\n') || text === '' ? '' : '\n'}${line}\n`);
      const created = (await this.rereadContacts()).find((r) => r.id === id);
      if (!created) throw new CrmError('retryable', `Contact ${id} was appended to ${this.files.contactsCsv} but cannot be read back.`);
      return this.toMatch(created);
    });
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async append(input: CallLogInput): Promise<LoggedActivity> {
    const logged = await this.loadLoggedKeys();
    const existing = logged.get(input.key);
    if (existing) return { id: existing, created: false };
    const id = `call-${logged.size + 1}-${input.key}`;
    const line = {
      type: 'call',
      id,
      key: input.key,
      loggedAt: new Date().toISOString(),
      subject: input.subject,
      description: input.description,
      disposition: input.disposition,
      contactId: input.match?.id,
      ownerId: input.ownerId,
      direction: input.record.direction,
      outcome: input.record.outcome,
      talkSeconds: input.record.talkSeconds,
      ringSeconds: input.record.ringSeconds,
      callId: input.record.callId,
      extension: input.record.extension,
      remoteNumber: input.record.remoteNumber,
      startedAt: new Date(input.record.startedAt).toISOString(),
    };
    await this.appendLine(line);
    logged.set(input.key, id);
    return { id, created: true };
  }

  private async loadLoggedKeys(): Promise<Map<string, string>> {
    if (this.loggedKeys) return this.loggedKeys;
    const keys = new Map<string, string>();
    const text = await readFile(this.files.callLogFile, 'utf8').catch(() => '');
    this.tornTail = text !== '' && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as { id: string; key: string };
        keys.set(entry.key, entry.id);
      } catch {
        // a torn last line from a crash: the next append starts a fresh line
      }
    }
    this.loggedKeys = keys;
    return keys;
  }

  private async loadContacts() {
    return (await this.indexedContacts()).rows;
  }

  /**
   * The CSV read again after this provider wrote it: a stat (or read) shared with lookups may have
   * started before the write, and a write within the same millisecond keeps the mtime.
   */
  private async rereadContacts(): Promise<ContactRow[]> {
    const { mtimeMs } = await stat(this.files.contactsCsv);
    const contacts = await this.readContacts(mtimeMs);
    this.contacts = contacts;
    this.reading = undefined;
    return contacts.rows;
  }

  /** The CSV as read at its current mtime: read once however many lookups ask while it is read. */
  private async indexedContacts(): Promise<Contacts> {
    let mtimeMs: number;
    try {
      this.statting ??= stat(this.files.contactsCsv)
        .then((s) => s.mtimeMs)
        .finally(() => (this.statting = undefined));
      mtimeMs = await this.statting;
    } catch (err) {
      throw new CrmError('permanent', `Contacts file ${this.files.contactsCsv} cannot be read: ${(err as Error).message}`);
    }
    if (this.contacts?.mtimeMs === mtimeMs) return this.contacts;
    if (this.reading?.mtimeMs !== mtimeMs) {
      const reading = { mtimeMs, contacts: this.readContacts(mtimeMs) };
      this.reading = reading;
      const settle = (contacts?: Contacts) => {
        if (this.reading !== reading) return; // a newer version of the file is being read
        if (contacts) this.contacts = contacts;
        this.reading = undefined;
      };
      reading.contacts.then(settle, () => settle());
    }
    return this.reading.contacts;
  }

  private async readContacts(mtimeMs: number): Promise<Contacts> {
    const rows = parse<ContactRow>(await readFile(this.files.contactsCsv, 'utf8'), { columns: true, skip_empty_lines: true, trim: true });
    const indexed = rows.map((row) => {
      // Each stored number in every form a query may carry, so matching is a map lookup.
      const columns = Object.fromEntries(
        PHONE_COLUMNS.map((c) => {
          const q = phoneQuery(row[c], this.files.country);
          return [c, new Set(q ? [q.e164, q.national, q.digits].filter((f): f is string => !!f) : [])];
        }),
      );
      return { ...row, columns, numbers: PHONE_COLUMNS.flatMap((c) => [...columns[c]]) };
    });
    const byNumber = new Map<string, ContactRow[]>();
    for (const row of indexed) {
      for (const n of new Set(row.numbers)) {
        const list = byNumber.get(n);
        if (list) list.push(row);
        else byNumber.set(n, [row]);
      }
    }
    return { mtimeMs, rows: indexed, byNumber };
  }
}

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab or CR first: a caller-ID name of
 * `=HYPERLINK(...)`) gets a leading apostrophe, so opening the CSV shows it as text. Phone
 * numbers (`+15551234567`) stay as they are: the lookups read them.
 */
export function csvText(value: string): string {
  if (/^[=+\-@\t\r]/.test(value) && !/^\+?[\d ().-]+$/.test(value)) return `'${value}`;
  return value;
}
