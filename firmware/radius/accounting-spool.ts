/**
 * Accounting records no server acknowledged (RFC 2866 §2: the NAS keeps retrying), kept in order
 * and sent again, oldest first, with Acct-Delay-Time saying how long each waited (RFC 2866 §5.2).
 * While the spool holds anything, new records queue behind it so the server sees them in order.
 * The queue lives in memory and, when given a file, on disk too (`spool-journal.ts`): every record
 * is written before it is first sent and its acknowledgement after, so a RADIUS outage, a restart
 * or a `kill -9` loses nothing. Past `maxRecords` new records are dropped and counted: a server
 * gone for days must not fill the flash.
 */
import { SpoolJournal } from './spool-journal.ts';
import type { Logger } from '../log/logger.ts';
import type { RadiusResult } from './client-engine.ts';
import type { RadiusAttribute } from './packet.ts';

export interface RadiusAccountDelayed {
  account(attributes: readonly RadiusAttribute[], delaySeconds?: number): Promise<RadiusResult>;
}

export interface Spooled {
  readonly attributes: readonly RadiusAttribute[];
  /** ms since the epoch when the record was first made. */
  readonly at: number;
  /** Sent once and not acknowledged: later tries carry Acct-Delay-Time. Records loaded from disk count as tried. */
  tried?: boolean;
}

export interface SpoolOptions {
  readonly client: RadiusAccountDelayed;
  /** The on-disk copy; memory only when absent. */
  readonly file?: string;
  readonly maxRecords?: number;
  /** How long to wait before trying the head again after no server answered. */
  readonly retryMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export const DEFAULT_SPOOL_RECORDS = 10_000;

export class AccountingSpool {
  readonly #o: SpoolOptions;
  readonly #queue: Spooled[] = [];
  readonly #now: () => number;
  readonly #journal: SpoolJournal | undefined;
  /** The drain running now: one at a time, so records leave in order. */
  #draining: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Records dropped because the spool was full. */
  dropped = 0;
  /** Records delivered after waiting in the spool. */
  delivered = 0;

  constructor(options: SpoolOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#journal = options.file === undefined ? undefined : new SpoolJournal(options.file, options.log);
    this.#queue.push(...(this.#journal?.load() ?? []));
    if (this.#queue.length > 0) {
      options.log?.info('RADIUS accounting spool: records from before the restart will be sent', { records: this.#queue.length });
      this.#kick();
    }
  }

  get size(): number {
    return this.#queue.length;
  }

  /**
   * Sends a record now, or behind the ones waiting. true: acknowledged now; false: spooled (or
   * dropped when full) for later. On disk before the first try: a crash while it is in flight keeps it.
   */
  async send(attributes: readonly RadiusAttribute[]): Promise<boolean> {
    const record: Spooled = { attributes, at: this.#now() };
    // In an outage (a retry scheduled) new records wait behind the head instead of each trying the dead server.
    const outage = this.#retry !== undefined;
    if (!this.#enqueue(record)) return false;
    if (outage) return false;
    await this.drain();
    return !this.#queue.includes(record);
  }

  /** Sends what waits, in order, until it is empty or a record is not acknowledged. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#draining ??= this.#drainNow().finally(() => (this.#draining = undefined));
    return this.#draining;
  }

  async #drainNow(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    while (this.#queue.length > 0 && !this.#closed) {
      const head = this.#queue[0]!;
      const delay = Math.max(0, Math.round((this.#now() - head.at) / 1000));
      const result = await this.#o.client.account(head.attributes, ...(head.tried ? [delay] : []));
      if (result.outcome !== 'accounting-response') {
        if (!head.tried && this.#queue.length === 1) this.#o.log?.warn('RADIUS accounting record not acknowledged: spooled, sent again when a server answers');
        head.tried = true;
        this.#later();
        return;
      }
      this.#queue.shift();
      if (head.tried) this.delivered++;
      this.#journal?.acknowledged(this.#queue);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#journal?.close();
  }

  /** false: the spool is full and the record dropped (counted). */
  #enqueue(record: Spooled): boolean {
    if (this.#queue.length >= (this.#o.maxRecords ?? DEFAULT_SPOOL_RECORDS)) {
      this.dropped++;
      this.#o.log?.warn('RADIUS accounting spool full: record dropped', { records: this.#queue.length, dropped: this.dropped });
      return false;
    }
    this.#queue.push(record);
    this.#journal?.added(record);
    return true;
  }

  #kick(): void {
    void this.drain();
  }

  #later(): void {
    if (this.#retry || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#kick();
    }, this.#o.retryMs ?? 30_000);
    this.#retry.unref();
  }
}
