import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { Logger } from '../log/logger.ts';
import type { ResetButton } from './types.ts';

/**
 * The reset button (issue 18): held for the board's holdSeconds (10 s), it asks for a factory reset.
 *
 * linux/input.h struct input_event: struct timeval (two longs: 16 bytes on 64-bit, 8 on 32-bit), then
 * __u16 type, __u16 code, __s32 value, native byte order (little-endian on every board here).
 */
export const EV_KEY = 1;

export interface InputEvent {
  readonly type: number;
  readonly code: number;
  readonly value: number;
}

/** The size of one input_event for a word size in bytes (8 on arm64/x64, 4 on armv7). */
export const inputEventSize = (wordBytes: 4 | 8): number => 2 * wordBytes + 8;

/** Whole events from the bytes read; the remainder (a partial event) is returned for the next read. Never throws. */
export function decodeInputEvents(bytes: Uint8Array, wordBytes: 4 | 8): { events: InputEvent[]; rest: Uint8Array } {
  const size = inputEventSize(wordBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: InputEvent[] = [];
  let at = 0;
  for (; at + size <= bytes.byteLength; at += size) {
    const o = at + 2 * wordBytes;
    events.push({ type: view.getUint16(o, true), code: view.getUint16(o + 2, true), value: view.getInt32(o + 4, true) });
  }
  return { events, rest: bytes.subarray(at) };
}

/**
 * Sans-I/O hold detector: press starts the count, release before the deadline cancels it; the deadline
 * passing while still held is a reset, reported once per press. Autorepeat (value 2) changes nothing.
 */
export class ResetHold {
  readonly #holdMs: number;
  #pressedAt: number | undefined;
  #fired = false;

  constructor(holdSeconds: number) {
    this.#holdMs = holdSeconds * 1000;
  }

  /** A key event for the button's code; true when this makes a reset due now. */
  key(value: number, now: number): boolean {
    if (value === 1 && this.#pressedAt === undefined) {
      this.#pressedAt = now;
      this.#fired = false;
    } else if (value === 0) {
      this.#pressedAt = undefined;
    }
    return this.timeout(now);
  }

  /** When to look again (the hold deadline), or undefined while the button is up or the reset was given. */
  nextTimeout(): number | undefined {
    return this.#pressedAt === undefined || this.#fired ? undefined : this.#pressedAt + this.#holdMs;
  }

  timeout(now: number): boolean {
    const due = this.nextTimeout();
    if (due === undefined || now < due) return false;
    this.#fired = true;
    return true;
  }

  get held(): boolean {
    return this.#pressedAt !== undefined;
  }
}

/**
 * The shell: reads the evdev device, drives ResetHold with a timer, calls onReset. The device is read
 * non-blocking every 100 ms rather than through a read stream: a blocking read of a quiet device would
 * hold one of libuv's four pool threads for ever (and one more after every in-process restart).
 */
export class ResetButtonWatch {
  readonly #button: ResetButton;
  readonly #onReset: () => void;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #hold: ResetHold;
  readonly #wordBytes: 4 | 8;
  #fd: number | undefined;
  #poll: NodeJS.Timeout | undefined;
  readonly #buffer = Buffer.alloc(24 * 16);
  #timer: NodeJS.Timeout | undefined;
  #pending: Uint8Array = new Uint8Array(0);

  constructor(options: { button: ResetButton; onReset: () => void; logger: Logger; clock?: () => number; wordBytes?: 4 | 8 }) {
    this.#button = options.button;
    this.#onReset = options.onReset;
    this.#log = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#hold = new ResetHold(options.button.holdSeconds);
    this.#wordBytes = options.wordBytes ?? (process.arch === 'arm' ? 4 : 8);
  }

  start(): void {
    try {
      this.#fd = openSync(this.#button.input, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      this.#log.warn('reset button not watched', { input: this.#button.input, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    this.#poll = setInterval(() => this.#read(), 100);
    this.#poll.unref();
    this.#log.info('reset button watched', { input: this.#button.input, keyCode: this.#button.keyCode, holdSeconds: this.#button.holdSeconds });
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #read(): void {
    for (let i = 0; i < 16 && this.#fd !== undefined; i++) {
      let n: number;
      try {
        n = readSync(this.#fd, this.#buffer);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return;
        this.#log.warn('reset button read failed', { input: this.#button.input, error: (error as Error).message });
        return this.stop();
      }
      if (n === 0) return; // a FIFO with no writer (tests); a device never says end
      this.#receive(this.#buffer.subarray(0, n));
    }
  }

  #receive(chunk: Uint8Array): void {
    const bytes = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
    bytes.set(this.#pending);
    bytes.set(chunk, this.#pending.byteLength);
    const { events, rest } = decodeInputEvents(bytes, this.#wordBytes);
    this.#pending = rest.slice();
    for (const e of events) {
      if (e.type !== EV_KEY || e.code !== this.#button.keyCode) continue;
      if (e.value === 1) this.#log.info('reset button pressed: hold to reset', { holdSeconds: this.#button.holdSeconds });
      if (this.#hold.key(e.value, this.#clock())) return this.#fire();
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const due = this.#hold.nextTimeout();
    if (due === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#hold.timeout(this.#clock())) this.#fire();
      else this.#arm();
    }, Math.max(0, due - this.#clock()));
  }

  #fire(): void {
    this.#log.warn('reset button held: factory reset', { holdSeconds: this.#button.holdSeconds });
    this.#onReset();
  }
}
