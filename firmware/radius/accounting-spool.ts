/**
 * Accounting records no server acknowledged (RFC 2866 §2: the NAS keeps retrying), kept in order
 * and sent again, oldest first, with Acct-Delay-Time saying how long each waited (RFC 2866 §5.2).
 * While the spool holds anything, new records queue behind it so the server sees them in order.
 * The queue lives in memory and, when given a file, on disk too (rewritten atomically after each
 * change) so a restart or `kill -9` loses nothing. Past `maxRecords` new records are dropped and
 * counted: a server gone for days must not fill the flash.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { Logger } from '../log/logger.ts';
import type { RadiusResult } from './client-engine.ts';
import type { RadiusAttribute } from './packet.ts';

export interface RadiusAccountDelayed {
  account(attributes: readonly RadiusAttribute[], delaySeconds?: number): Promise<RadiusResult>;
}

interface Spooled {
  readonly attributes: readonly RadiusAttribute[];
  /** ms since the epoch when the record was first made. */
  readonly at: number;
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
    this.#queue.push(...this.#load());
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
   * dropped when full) for later.
   */
  async send(attributes: readonly RadiusAttribute[]): Promise<boolean> {
    const record = { attributes, at: this.#now() };
    if (this.#queue.length === 0 && this.#draining === undefined) {
      const result = await this.#o.client.account(attributes);
      if (result.outcome === 'accounting-response') return true;
    }
    this.#enqueue(record);
    return false;
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
      const result = await this.#o.client.account(head.attributes, delay);
      if (result.outcome !== 'accounting-response') {
        this.#later();
        return;
      }
      this.#queue.shift();
      this.delivered++;
      this.#save();
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  #enqueue(record: Spooled): void {
    if (this.#queue.length >= (this.#o.maxRecords ?? DEFAULT_SPOOL_RECORDS)) {
      this.dropped++;
      this.#o.log?.warn('RADIUS accounting spool full: record dropped', { records: this.#queue.length, dropped: this.dropped });
      return;
    }
    this.#queue.push(record);
    this.#save();
    if (this.#queue.length === 1) this.#o.log?.warn('RADIUS accounting record not acknowledged: spooled, sent again when a server answers');
    this.#later();
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

  #save(): void {
    if (!this.#o.file) return;
    const json = JSON.stringify(this.#queue.map((r) => ({ at: r.at, attributes: r.attributes.map((a) => [a.type, Buffer.from(a.value).toString('base64')]) })));
    try {
      writeFileAtomic(this.#o.file, json);
    } catch (error) {
      this.#o.log?.warn('RADIUS accounting spool not written', { file: this.#o.file, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** A missing or damaged file is an empty spool (logged), never a crash. */
  #load(): Spooled[] {
    if (!this.#o.file) return [];
    let text: string;
    try {
      text = readFileSync(this.#o.file, 'utf8');
    } catch {
      return [];
    }
    try {
      const raw = JSON.parse(text) as unknown;
      if (!Array.isArray(raw)) throw new Error('not a list');
      return raw.flatMap((r: unknown): Spooled[] => {
        const e = r as { at?: unknown; attributes?: unknown };
        if (typeof e.at !== 'number' || !Array.isArray(e.attributes)) return [];
        const attributes = e.attributes.flatMap((a: unknown): RadiusAttribute[] =>
          Array.isArray(a) && typeof a[0] === 'number' && typeof a[1] === 'string' ? [{ type: a[0], value: new Uint8Array(Buffer.from(a[1], 'base64')) }] : []);
        return [{ at: e.at, attributes }];
      });
    } catch (error) {
      this.#o.log?.warn('RADIUS accounting spool unreadable: started empty', { file: this.#o.file, error: error instanceof Error ? error.message : String(error) });
      return [];
    }
  }
}
