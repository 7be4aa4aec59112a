/**
 * Sessions whose accounting Start went out and whose Stop has not (issue 21), on disk, so that after a
 * crash or a power cut the next start sends each of them a Stop with Acct-Terminate-Cause NAS-Reboot
 * (RFC 2866 §5.10: ended by a reboot that was not administrative), ahead of the Accounting-On, with
 * the time and counters of its last record. A clean stop sends its own Stops (Admin-Reboot) and
 * leaves nothing here. One append-only file per listener, `<state>/radius-open-<listener>.jsonl`:
 *
 *   {"id":"<Acct-Session-Id>","at":<ms>,"a":[[<type>,"<base64>"],...]}   the Stop it would get now
 *   {"del":"<Acct-Session-Id>"}                                          its Stop was sent
 *
 * Written at each Start and Interim-Update, never synced: a line lost in a crash costs that session's
 * NAS-Reboot Stop or its latest counters, and the Accounting-On still tells the server it ended.
 * Compacted when stale lines outnumber open sessions. A torn last line is skipped.
 */
import type { Logger } from '../log/logger.ts';
import { AppendedLines } from './appended-lines.ts';
import { journalAttributes, journalEntryOf } from './spool-journal.ts';
import type { RadiusAttribute } from './packet.ts';

const entryLine = (id: string, attributes: readonly RadiusAttribute[], at: number): string => `${JSON.stringify({ id, at, a: journalAttributes(attributes) })}\n`;

/** The Stops a journal's text leaves open, oldest Start first; unreadable lines counted (never throws). */
export function replayOpenSessions(text: string): { open: Map<string, readonly RadiusAttribute[]>; bad: number } {
  const open = new Map<string, readonly RadiusAttribute[]>();
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as { id?: unknown; del?: unknown };
    if (typeof e.del === 'string') {
      open.delete(e.del);
      continue;
    }
    const record = journalEntryOf(raw);
    if (typeof e.id !== 'string' || !record || record === 'ack') {
      bad++;
      continue;
    }
    open.set(e.id, record.attributes);
  }
  return { open, bad };
}

export class OpenSessionLedger {
  readonly #file: AppendedLines;
  readonly #log: Logger | undefined;
  readonly #now: () => number;
  /** Open sessions: how many lines the file would have after compaction. */
  readonly #open = new Set<string>();

  constructor(file: string, options: { log?: Logger; now?: () => number } = {}) {
    this.#file = new AppendedLines(file, 'RADIUS open sessions not written', options.log);
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Once, at start: the Stops of the sessions the last run left open; the file starts over empty. */
  takeLeftOpen(): Array<readonly RadiusAttribute[]> {
    const { open, bad } = replayOpenSessions(this.#file.read());
    if (bad > 0) this.#log?.warn('RADIUS open sessions: unreadable lines skipped', { file: this.#file.file, lines: bad });
    this.#file.rewrite('');
    return [...open.values()];
  }

  /** The Stop `id` would get if the gateway died now (at its Start, then at each Interim-Update). */
  put(id: string, stop: readonly RadiusAttribute[]): void {
    this.#open.add(id);
    this.#append(entryLine(id, stop, this.#now()));
  }

  /** Its Stop went out (or into the spool). */
  remove(id: string): void {
    if (!this.#open.delete(id)) return;
    if (this.#open.size === 0) return this.#file.rewrite('');
    this.#append(`${JSON.stringify({ del: id })}\n`);
  }

  close(): void {
    this.#file.close();
  }

  #append(line: string): void {
    // Past twice the open sessions (and a floor), the stale lines go: the file stays about one line per session.
    if (this.#file.lines > 2 * this.#open.size + 64) return this.#compactThen(line);
    this.#file.append(line);
  }

  #compactThen(line: string): void {
    const { open } = replayOpenSessions(this.#file.read() + line);
    const at = this.#now();
    this.#file.rewrite([...open].filter(([id]) => this.#open.has(id)).map(([id, a]) => entryLine(id, a, at)).join(''));
  }
}
