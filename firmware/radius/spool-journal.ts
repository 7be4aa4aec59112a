/**
 * The accounting spool on disk (issue 21): one append-only journal per service,
 * `<state>/radius-spool-<listener>.jsonl`, one JSON object a line:
 *
 *   {"at":<ms since the epoch>,"a":[[<type>,"<value, base64>"],...]}   a record queued (last in line)
 *   {"ack":1}                                                          the oldest record acknowledged
 *
 * Appending costs the same whatever the backlog (a rewrite per record would write the whole queue
 * each time: gigabytes over a long outage on flash). A record line is synced before the record is
 * sent; an ack is not (lost, the record is sent once more: a duplicate the server sees by its
 * Acct-Session-Id and Acct-Status-Type, never a loss). The file is emptied when the queue is, and
 * compacted when acks outnumber waiting records. A torn last line (power cut mid-write) is skipped.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { AppendedLines } from './appended-lines.ts';
import type { Logger } from '../log/logger.ts';
import type { RadiusAttribute } from './packet.ts';

export interface JournalRecord {
  readonly attributes: readonly RadiusAttribute[];
  readonly at: number;
  tried?: boolean;
}

const ACK = '{"ack":1}\n';

/** Attributes as a journal line holds them (`"a"`): type and base64 value; `parseJournalLine` reads them back. */
export const journalAttributes = (attributes: readonly RadiusAttribute[]): Array<[number, string]> => attributes.map((a) => [a.type, Buffer.from(a.value).toString('base64')]);

const recordLine = (r: JournalRecord): string => `${JSON.stringify({ at: r.at, a: journalAttributes(r.attributes) })}\n`;

/** One line, or undefined when it is not a record or an ack (never throws). */
export function parseJournalLine(line: string): JournalRecord | 'ack' | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  return journalEntryOf(raw);
}

/** A line already parsed as JSON: a record, an ack, or undefined when it is neither (never throws). */
export function journalEntryOf(raw: unknown): JournalRecord | 'ack' | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as { at?: unknown; a?: unknown; ack?: unknown };
  if (e.ack === 1) return 'ack';
  if (typeof e.at !== 'number' || !Number.isFinite(e.at) || !Array.isArray(e.a)) return undefined;
  const attributes: RadiusAttribute[] = [];
  for (const a of e.a as unknown[]) {
    if (!Array.isArray(a) || !Number.isInteger(a[0]) || a[0] < 0 || a[0] > 255 || typeof a[1] !== 'string') return undefined;
    attributes.push({ type: a[0], value: new Uint8Array(Buffer.from(a[1], 'base64')) });
  }
  return { at: e.at, attributes, tried: true };
}

/** Replays a journal's text: records in, acks take the oldest out. Unreadable lines are counted. */
export function replayJournal(text: string): { records: JournalRecord[]; bad: number } {
  const records: JournalRecord[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const entry = parseJournalLine(line);
    if (entry === 'ack') records.shift();
    else if (entry) records.push(entry);
    else bad++;
  }
  return { records, bad };
}

export class SpoolJournal {
  readonly #file: AppendedLines;
  readonly #log: Logger | undefined;

  constructor(file: string, log?: Logger) {
    this.#file = new AppendedLines(file, 'RADIUS accounting spool not written', log);
    this.#log = log;
  }

  /** The records waiting in the file (and in the older whole-file spool, moved into the journal). */
  load(): JournalRecord[] {
    const { records, bad } = replayJournal(this.#file.read());
    if (bad > 0) this.#log?.warn('RADIUS accounting spool: unreadable lines skipped', { file: this.#file.file, lines: bad });
    const legacy = this.#legacy();
    records.unshift(...legacy);
    // Rewritten as it stands now: acks and bad lines gone, the legacy records in.
    this.#file.rewrite(records.map(recordLine).join(''));
    if (legacy.length > 0) rmSync(this.#file.file.replace(/\.jsonl$/, '.json'), { force: true });
    return records;
  }

  added(record: JournalRecord): void {
    this.#file.append(recordLine(record), true);
  }

  /** The oldest record was acknowledged; `waiting` is what is left. */
  acknowledged(waiting: readonly JournalRecord[]): void {
    if (waiting.length === 0) return this.#file.truncate();
    if (this.#file.lines > 2 * waiting.length + 64) return this.#file.rewrite(waiting.map(recordLine).join(''));
    this.#file.append(ACK);
  }

  close(): void {
    this.#file.close();
  }

  /** The whole-file spool SSTP kept before the journal (`radius-spool-<listener>.json`, a JSON list). */
  #legacy(): JournalRecord[] {
    const old = this.#file.file.replace(/\.jsonl$/, '.json');
    if (old === this.#file.file || !existsSync(old)) return [];
    try {
      const raw = JSON.parse(readFileSync(old, 'utf8')) as unknown;
      if (!Array.isArray(raw)) return [];
      return raw.flatMap((r: unknown) => {
        const e = r as { at?: unknown; attributes?: unknown };
        const entry = journalEntryOf({ at: e.at, a: e.attributes });
        return entry && entry !== 'ack' ? [entry] : [];
      });
    } catch {
      return [];
    }
  }
}
