import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { BoardLed, LedShows } from './types.ts';

/** What the box is doing, as the LEDs show it. */
export interface LedInputs {
  readonly running: boolean;
  readonly wanUp: boolean;
  readonly tunnelsUp: boolean;
  readonly error: boolean;
}

/** Sans-I/O: on (true) or off for each thing an LED can show. */
export function ledLevels(inputs: LedInputs): Record<LedShows, boolean> {
  return { power: inputs.running, 'wan-up': inputs.running && inputs.wanUp, 'tunnels-up': inputs.running && inputs.tunnelsUp, error: inputs.error };
}

/**
 * Drives the board's LEDs through sysfs (<led>/brightness, 0 or max_brightness). The kernel's trigger
 * is set to none first so it does not fight us. Writes only on change; a failing LED is logged once and
 * counted, never fatal (a missing LED must not stop a gateway).
 */
export class LedDriver {
  readonly #leds: readonly BoardLed[];
  readonly #log: Logger;
  readonly #last = new Map<string, boolean>();
  readonly #failed = new Set<string>();
  #errors = 0;

  constructor(leds: readonly BoardLed[], logger: Logger) {
    this.#leds = leds;
    this.#log = logger;
    for (const led of leds) {
      try {
        writeFileSync(join(led.path, 'trigger'), 'none');
      } catch {
        // No trigger file (a fake sysfs, an LED without triggers): brightness alone is enough.
      }
    }
  }

  counters(): Record<string, number> {
    return { ledWriteErrors: this.#errors };
  }

  show(inputs: LedInputs): void {
    const levels = ledLevels(inputs);
    for (const led of this.#leds) this.#set(led, levels[led.shows]);
  }

  /** Clean stop: every LED off, the power LED included (the service no longer runs). */
  off(): void {
    for (const led of this.#leds) this.#set(led, false);
  }

  #set(led: BoardLed, on: boolean): void {
    if (this.#last.get(led.path) === on) return;
    try {
      writeFileSync(join(led.path, 'brightness'), on ? maxBrightness(led.path) : '0');
      this.#last.set(led.path, on);
    } catch (error) {
      this.#errors++;
      if (!this.#failed.has(led.path)) this.#log.warn('cannot set an LED', { led: led.path, shows: led.shows, error: error instanceof Error ? error.message : String(error) });
      this.#failed.add(led.path);
    }
  }
}

function maxBrightness(path: string): string {
  try {
    const text = readFileSync(join(path, 'max_brightness'), 'utf8').trim();
    return /^\d+$/.test(text) && text !== '0' ? text : '1';
  } catch {
    return '1';
  }
}
