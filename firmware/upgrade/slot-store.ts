import { basename, dirname, join } from 'node:path';
import type { BoardProfile } from '../board/types.ts';
import {
  chooseBoot, commitTrial, decodeBootState, encodeBootState, failTrial, failureHandled, forgetSlot, initialBootState, installTarget, markTrial, recordSlot,
  type BootState, type Changed, type FailureReason, type Refused, type Slot, type SlotInfo,
} from './slot-state.ts';
import type { SlotFs } from './slot-fs.ts';

/** Where the two executables and the boot record live. */
export interface SlotLayout {
  readonly a: string;
  readonly b: string;
  /** The boot record (slot-state.ts), beside the slots: it must survive a factory reset, as they do. */
  readonly stateFile: string;
}

/** The layout under one directory: DIR/a, DIR/b, DIR/boot.state (development, tests, image-path boards). */
export const slotLayoutIn = (dir: string): SlotLayout => ({ a: join(dir, 'a'), b: join(dir, 'b'), stateFile: join(dir, 'boot.state') });

/**
 * The board's layout: ab-slots boards name their two slot files (the boot record goes beside slot a);
 * image-path boards keep the slots in a `slots/` folder beside the image path, which the launcher
 * then stands for. Slots must be files on a mounted file system: a raw partition cannot be executed.
 */
export function boardSlotLayout(board: BoardProfile): SlotLayout | string {
  const storage = board.storage;
  if (storage.layout === 'ab-slots' && storage.slots) {
    if (storage.slots.a.startsWith('/dev/') || storage.slots.b.startsWith('/dev/')) {
      return `board ${board.name} names block devices as slots (${storage.slots.a}, ${storage.slots.b}): slots must be executable files on mounted partitions`;
    }
    return { a: storage.slots.a, b: storage.slots.b, stateFile: join(dirname(storage.slots.a), 'boot.state') };
  }
  if (storage.imagePath) return slotLayoutIn(join(dirname(storage.imagePath), 'slots'));
  return `board ${board.name} has no slot layout`;
}

export class SlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlotError';
  }
}

const must = (r: Changed | Refused): BootState => {
  if (!r.ok) throw new SlotError(r.why);
  return r.state;
};

/**
 * The thin shell over slot-state.ts: reads and writes the boot record atomically and writes a new
 * executable into the inactive slot so that a power cut at any moment leaves a bootable box:
 *
 *   1. the executable streams into `<slot>.new`; fsync; close
 *   2. its hash is read back from storage and checked against the signed header
 *   3. the record forgets the slot (it stops vouching for bytes about to change)
 *   4. `<slot>.new` is renamed over the slot; the directory is synced
 *   5. the record describes the slot (version, hash, floor): staged, not yet booted
 *   6. apply: the record marks it for one trial boot
 */
export class SlotStore {
  readonly layout: SlotLayout;
  readonly #fs: SlotFs;

  constructor(layout: SlotLayout, fs: SlotFs) {
    this.layout = layout;
    this.#fs = fs;
  }

  path(slot: Slot): string {
    return this.layout[slot];
  }

  /** The record; a missing one is a fresh box running slot a. A damaged one is an error the caller shows. */
  read(): BootState {
    const bytes = this.#fs.readFile(this.layout.stateFile);
    if (!bytes) return initialBootState(undefined);
    const decoded = decodeBootState(bytes.toString('utf8'));
    if (typeof decoded === 'string') throw new SlotError(`boot record ${this.layout.stateFile} is damaged: ${decoded}`);
    return decoded;
  }

  write(state: BootState): void {
    const dir = dirname(this.layout.stateFile);
    const tmp = join(dir, `.${basename(this.layout.stateFile)}.new`);
    const fd = this.#fs.create(tmp);
    try {
      this.#fs.write(fd, Buffer.from(encodeBootState(state)));
      this.#fs.fsync(fd);
    } finally {
      this.#fs.close(fd);
    }
    this.#fs.rename(tmp, this.layout.stateFile);
    this.#fs.fsyncDir(dir);
  }

  /** Starts writing the next version into the inactive slot (steps 1-5 through the returned writer). */
  beginInstall(): SlotWriter {
    const target = installTarget(this.read());
    if (!target.ok) throw new SlotError(target.why);
    const temp = `${this.path(target.slot)}.new`;
    this.#fs.unlink(temp); // a leftover of an interrupted install
    return new SlotWriter(this, this.#fs, target.slot, temp);
  }

  /** Step 6: the staged slot boots next, on trial, with the configuration revision to go back to. */
  apply(configRevision: number | undefined, trialSeconds: number): Slot {
    const s = this.read();
    const target = installTarget(s);
    if (!target.ok) throw new SlotError(target.why);
    this.write(must(markTrial(s, target.slot, configRevision, trialSeconds)));
    return target.slot;
  }

  commit(running: Slot, now: number): BootState {
    const next = must(commitTrial(this.read(), running, now));
    this.write(next);
    return next;
  }

  fail(reason: FailureReason, now: number): BootState {
    const next = must(failTrial(this.read(), reason, now));
    this.write(next);
    return next;
  }

  markFailureHandled(): void {
    this.write(must(failureHandled(this.read())));
  }

  /** The launcher's decision, for tests that hold launcher.sh to it. */
  boot(now: number): { slot: Slot; trial: boolean } {
    const choice = chooseBoot(this.read(), now);
    this.write(choice.state);
    return { slot: choice.slot, trial: choice.trial };
  }

  /** @internal the writer's steps 3 to 5 */
  finishInstall(slot: Slot, temp: string, info: SlotInfo): void {
    this.write(must(forgetSlot(this.read(), slot)));
    this.#fs.rename(temp, this.path(slot));
    this.#fs.fsyncDir(dirname(this.path(slot)));
    this.write(must(recordSlot(this.read(), slot, info)));
  }
}

/** One install in progress: the payload's pieces in order, then `finish` with the verified header's facts. */
export class SlotWriter {
  readonly slot: Slot;
  readonly #store: SlotStore;
  readonly #fs: SlotFs;
  readonly #temp: string;
  #fd: number | undefined;
  #bytes = 0;

  constructor(store: SlotStore, fs: SlotFs, slot: Slot, temp: string) {
    this.#store = store;
    this.#fs = fs;
    this.slot = slot;
    this.#temp = temp;
    this.#fd = fs.create(temp);
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  write(chunk: Buffer): void {
    if (this.#fd === undefined) throw new SlotError('the install is finished');
    this.#fs.write(this.#fd, chunk);
    this.#bytes += chunk.length;
  }

  /** Sync, read back and check the hash, then swap it in and record it (nothing is booted yet). */
  finish(info: SlotInfo & { readonly bytes: number }): void {
    const fd = this.#fd;
    if (fd === undefined) throw new SlotError('the install is finished');
    this.#fd = undefined;
    try {
      this.#fs.fsync(fd);
    } finally {
      this.#fs.close(fd);
    }
    const stored = this.#fs.sha256(this.#temp);
    if (this.#bytes !== info.bytes || stored !== info.sha256) {
      this.#fs.unlink(this.#temp);
      throw new SlotError(`slot ${this.slot}: what was written does not read back as the verified executable (storage fault?)`);
    }
    this.#store.finishInstall(this.slot, this.#temp, { version: info.version, sha256: info.sha256, minVersion: info.minVersion });
  }

  /** A refused or broken upload: the temporary file goes, the record and both slots are as before. */
  abort(): void {
    if (this.#fd !== undefined) this.#fs.close(this.#fd);
    this.#fd = undefined;
    this.#fs.unlink(this.#temp);
  }
}
