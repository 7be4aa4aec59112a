import type { Logger } from '../log/logger.ts';
import { RefusalCode, type BoxIdentity, type BundleArch, type BundleHeader, type Refusal } from './bundle-format.ts';
import { BundleReader } from './bundle-reader.ts';
import { SlotError, type SlotStore, type SlotWriter } from './slot-store.ts';
import type { BootState, Slot, SlotInfo, UpgradeFailure } from './slot-state.ts';
import type { TrustedKey } from './trusted-key.ts';

/** How this process was started: by postern-launcher (a slot, maybe on trial), or by hand. */
export interface RunningSlot {
  readonly slot: Slot | undefined;
  readonly trial: boolean;
}

export interface UpgradeOptions {
  /** Absent: this box cannot take upgrades (not started by the launcher, or no slot layout); `why` says so. */
  readonly slots: SlotStore | undefined;
  readonly why?: string;
  readonly key: TrustedKey | undefined;
  readonly arch: BundleArch;
  readonly board: string;
  readonly version: string;
  readonly running: RunningSlot;
  readonly maxPayloadBytes: number;
  readonly trialSeconds: number;
  readonly logger: Logger;
  /** Seconds since the epoch (the launcher writes `date +%s`). */
  readonly now: () => number;
  /** Just before a trial is marked: keep the configuration as it is (upgrade-setup.ts snapshots current.json). */
  readonly beforeApply?: () => void;
}

export type ReceiveResult = { readonly ok: true; readonly staged: SlotInfo & { readonly slot: Slot; readonly bytes: number } } | { readonly ok: false; readonly refusal: Refusal };

/** The API's, the UI's and the fleet console's view. */
export interface UpgradeStatus {
  readonly available: boolean;
  readonly why?: string;
  /** The image trusts the development key: anyone with the repository's cache can sign for it. */
  readonly devKey: boolean;
  readonly running: { readonly version: string; readonly slot: Slot | null; readonly trial: boolean };
  readonly staged: (SlotInfo & { readonly slot: Slot }) | null;
  readonly pendingTrial: Slot | null;
  readonly floor: string;
  readonly lastFailure: UpgradeFailure | null;
  readonly lastCommit: { readonly version: string; readonly at: number } | null;
  readonly receiving: { readonly bytes: number; readonly total: number | null } | null;
  readonly maxPayloadBytes: number;
}

export class UpgradeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UpgradeError';
    this.code = code;
  }
}

export const UpgradeCode = {
  unavailable: 'POSTERN_ERR_UPGRADE_UNAVAILABLE',
  busy: 'POSTERN_ERR_UPGRADE_BUSY',
  nothingStaged: 'POSTERN_ERR_UPGRADE_NOTHING_STAGED',
  storage: 'POSTERN_ERR_UPGRADE_STORAGE',
} as const;

/**
 * Receives bundles into the inactive slot, applies them, and watches a trial boot to its commit or
 * its failure. The bundle is checked as it streams (bundle-reader.ts): nothing is written before the
 * signature and the header pass, and the slot is only swapped in after its read-back hash matches.
 */
export class UpgradeManager {
  readonly #o: UpgradeOptions;
  #session: { reader: BundleReader; writer: SlotWriter | undefined; bytes: number; total: number | null } | undefined;
  #trialTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: UpgradeOptions) {
    this.#o = options;
  }

  get running(): RunningSlot {
    return this.#o.running;
  }

  status(): UpgradeStatus {
    const s = this.#state();
    const staged = s && !s.trial ? this.#staged(s) : undefined;
    const why = this.#unavailable();
    return {
      available: why === undefined, ...(why ? { why } : {}), devKey: this.#o.key?.dev ?? false,
      // On trial until committed (the environment the launcher gave says trial for the whole run).
      running: { version: this.#o.version, slot: this.#o.running.slot ?? null, trial: this.#o.running.trial && s?.trial === this.#o.running.slot },
      staged: staged ?? null, pendingTrial: s?.trial ?? null, floor: s?.floor ?? '0.0.0',
      lastFailure: s?.lastFailure ?? null, lastCommit: s?.lastCommit ?? null,
      receiving: this.#session ? { bytes: this.#session.bytes, total: this.#session.total } : null, maxPayloadBytes: this.#o.maxPayloadBytes,
    };
  }

  /**
   * A bundle from a download, verified and written to the inactive slot (staged, not applied).
   * Refusals are results, not throws; storage faults throw UpgradeError.
   */
  async receive(input: AsyncIterable<Buffer | Uint8Array>, total?: number): Promise<ReceiveResult> {
    const started = this.begin(total);
    if (started) return started;
    for await (const piece of input) {
      const r = this.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece));
      if (r) return r;
    }
    return this.end();
  }

  /**
   * An upload in pieces (the API takes a bundle as successive PUTs, each within the web server's
   * request time): begin replaces an upload left unfinished; push answers only with a refusal.
   */
  begin(total?: number): ReceiveResult | undefined {
    const why = this.#unavailable();
    if (why) throw new UpgradeError(UpgradeCode.unavailable, why);
    this.abandon();
    const state = this.#state();
    if (!state) throw new UpgradeError(UpgradeCode.storage, 'the boot record is unreadable');
    const box: BoxIdentity = { arch: this.#o.arch, board: this.#o.board, floor: state.floor, maxPayloadBytes: this.#o.maxPayloadBytes };
    if (total !== undefined && total > this.#o.maxPayloadBytes + 8192) {
      return this.#refused({ code: RefusalCode.tooLarge, message: `the bundle is ${total} bytes, this box takes at most ${this.#o.maxPayloadBytes + 8192}` });
    }
    this.#session = { reader: new BundleReader((this.#o.key as TrustedKey).key, box), writer: undefined, bytes: 0, total: total ?? null };
    return undefined;
  }

  push(chunk: Buffer): ReceiveResult | undefined {
    const session = this.#session;
    if (!session) throw new UpgradeError(UpgradeCode.nothingStaged, 'no upload in progress: start at offset 0');
    session.bytes += chunk.length;
    if (session.total !== null && session.bytes > session.total) return this.#refused({ code: RefusalCode.trailingBytes, message: `more than the ${session.total} bytes announced` });
    const r = session.reader.push(chunk);
    if (!r.ok) return this.#refused(r.refusal);
    const payload = r.payload;
    if (payload) {
      this.#guard(() => {
        session.writer ??= this.#begin(this.#o.slots as SlotStore);
        session.writer.write(payload);
      });
    }
    return undefined;
  }

  end(): ReceiveResult {
    const session = this.#session;
    if (!session) throw new UpgradeError(UpgradeCode.nothingStaged, 'no upload in progress: start at offset 0');
    const done = session.reader.finish();
    if (!done.ok) return this.#refused(done.refusal);
    const h: BundleHeader = done.header;
    let slot: Slot = 'a';
    this.#guard(() => {
      const writer = (session.writer ??= this.#begin(this.#o.slots as SlotStore));
      slot = writer.slot;
      writer.finish({ version: h.version, sha256: h.payloadSha256, minVersion: h.minVersion, bytes: h.payloadBytes });
    });
    this.#session = undefined;
    this.#o.logger.info('upgrade staged', { version: h.version, slot, bytes: h.payloadBytes, commit: h.commit });
    return { ok: true, staged: { slot, version: h.version, sha256: h.payloadSha256, minVersion: h.minVersion, bytes: h.payloadBytes } };
  }

  /** Bytes taken so far by the upload in progress (the API checks each piece's offset against it). */
  get received(): number | undefined {
    return this.#session?.bytes;
  }

  /** Drops an unfinished upload: its temporary file goes, nothing else changed. */
  abandon(): void {
    this.#session?.writer?.abort();
    this.#session = undefined;
  }

  /** The staged slot boots next, on trial; the caller then ends this process for the launcher (exit 75). */
  apply(configRevision: number): { slot: Slot; version: string } {
    const why = this.#unavailable();
    if (why) throw new UpgradeError(UpgradeCode.unavailable, why);
    if (this.#session) throw new UpgradeError(UpgradeCode.busy, 'a bundle is being received');
    const s = this.#state() as BootState;
    const staged = this.#staged(s);
    if (!staged) throw new UpgradeError(UpgradeCode.nothingStaged, 'no verified bundle is staged: upload one first');
    try {
      this.#o.beforeApply?.();
      const slot = (this.#o.slots as SlotStore).apply(configRevision, this.#o.trialSeconds);
      this.#o.logger.info('upgrade applied: booting the new version on trial', { version: staged.version, slot, trialSeconds: this.#o.trialSeconds, configRevision });
      return { slot, version: staged.version };
    } catch (error) {
      if (error instanceof SlotError) throw new UpgradeError(UpgradeCode.nothingStaged, error.message);
      throw error;
    }
  }

  /**
   * On a trial boot: poll `healthy` until it holds (commit) or the trial time runs out (fail, and
   * `bootAgain` hands back to the launcher, which starts the previous slot).
   */
  watchTrial(healthy: () => Promise<boolean>, bootAgain: () => void, pollMs = 1000): void {
    const slots = this.#o.slots;
    const slot = this.#o.running.slot;
    if (!slots || !slot || !this.#o.running.trial) return;
    const deadline = Date.now() + this.#trialSeconds(slots) * 1000;
    const tick = async (): Promise<void> => {
      this.#trialTimer = undefined;
      let ok = false;
      try {
        ok = await healthy();
      } catch {
        ok = false;
      }
      if (ok) {
        const s = slots.commit(slot, this.#o.now());
        this.#o.logger.info('upgrade committed: the new version is healthy', { version: s.slots[slot]?.version, slot, floor: s.floor });
        return;
      }
      if (Date.now() >= deadline) {
        slots.fail('unhealthy', this.#o.now());
        this.#o.logger.error('upgrade failed: not healthy within the trial time, the previous version boots again', { slot, trialSeconds: this.#trialSeconds(slots) });
        bootAgain();
        return;
      }
      this.#trialTimer = setTimeout(() => void tick(), pollMs);
    };
    this.#trialTimer = setTimeout(() => void tick(), pollMs);
  }

  /** The failed attempt the previous version runs after: restore its configuration, report it once. */
  async handleRollback(restore: (revision: number, failure: UpgradeFailure) => Promise<void>, report: (failure: UpgradeFailure) => void): Promise<void> {
    const slots = this.#o.slots;
    const s = this.#state();
    if (!slots || !s?.lastFailure || s.lastFailure.handled || this.#o.running.trial) return;
    const failure = s.lastFailure;
    this.#o.logger.error('upgrade failed and was rolled back', { version: failure.version, slot: failure.slot, reason: failure.reason });
    if (s.configRevision !== undefined) await restore(s.configRevision, failure);
    report(failure);
    slots.markFailureHandled();
  }

  stop(): void {
    if (this.#trialTimer) clearTimeout(this.#trialTimer);
    this.#trialTimer = undefined;
  }

  #trialSeconds(slots: SlotStore): number {
    try {
      return slots.read().trialSeconds;
    } catch {
      return this.#o.trialSeconds;
    }
  }

  #begin(slots: SlotStore): SlotWriter {
    try {
      return slots.beginInstall();
    } catch (error) {
      if (error instanceof SlotError) throw new UpgradeError(UpgradeCode.busy, error.message);
      throw error;
    }
  }

  /** A storage fault mid-install: the upload is dropped, and the caller hears it as UpgradeError. */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.abandon();
      if (error instanceof SlotError) throw new UpgradeError(UpgradeCode.storage, error.message);
      throw error;
    }
  }

  #refused(refusal: Refusal): ReceiveResult {
    this.abandon();
    this.#o.logger.warn('update bundle refused', { code: refusal.code, why: refusal.message });
    return { ok: false, refusal };
  }

  #staged(s: BootState): (SlotInfo & { slot: Slot }) | undefined {
    const other: Slot = s.active === 'a' ? 'b' : 'a';
    const info = s.slots[other];
    // A slot that ran and failed its trial is not offered again as staged.
    if (!info || (s.lastFailure && s.lastFailure.slot === other && s.lastFailure.version === info.version)) return undefined;
    return { ...info, slot: other };
  }

  #state(): BootState | undefined {
    try {
      return this.#o.slots?.read();
    } catch (error) {
      this.#o.logger.error('boot record unreadable', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  #unavailable(): string | undefined {
    if (!this.#o.key) return 'this build trusts no update-signing key';
    if (!this.#o.slots) return this.#o.why ?? 'this box has no A/B slots';
    if (this.#o.running.slot === undefined) return 'not started by postern-launcher: an applied upgrade would never boot';
    if (this.#o.running.trial && this.#state()?.trial === this.#o.running.slot) return 'this version is on trial: it must commit before the next upgrade';
    return undefined;
  }
}
