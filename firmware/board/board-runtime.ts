import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { LedDriver, type LedInputs } from './leds.ts';
import { ResetButtonWatch } from './reset-button.ts';
import type { SelectedBoard } from './select.ts';
import { WatchdogFeeder } from './watchdog.ts';

export interface BoardRuntimeOptions {
  readonly selected: SelectedBoard;
  readonly logger: Logger;
  /** What the LEDs show, looked at every ledIntervalMs. */
  readonly ledInputs: () => LedInputs;
  /** Whether the watchdog may be fed now. */
  readonly healthy: () => { ok: boolean; why?: string };
  /** The reset button was held long enough. */
  readonly onResetButton: () => void;
  readonly ledIntervalMs?: number;
  readonly watchdogIntervalMs?: number;
}

/**
 * The board's hardware as the running service drives it: LEDs, the watchdog, the reset button. Only
 * for a board chosen on purpose (select.ts): the generic default touches no hardware.
 */
export class BoardRuntime {
  readonly #options: BoardRuntimeOptions;
  readonly #leds: LedDriver | undefined;
  readonly #watchdog: WatchdogFeeder | undefined;
  readonly #button: ResetButtonWatch | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BoardRuntimeOptions) {
    this.#options = options;
    const { board, explicit } = options.selected;
    const log = options.logger;
    if (!explicit) return;
    // POSTERN_SYS_ROOT puts /sys/class/leds under another directory: a fake sysfs for tests and bench runs.
    const sysRoot = process.env['POSTERN_SYS_ROOT'];
    const leds = sysRoot ? board.leds.map((l) => ({ ...l, path: join(sysRoot, l.path) })) : board.leds;
    if (leds.length > 0) this.#leds = new LedDriver(leds, log);
    if (board.watchdog) this.#watchdog = new WatchdogFeeder({ device: board.watchdog, healthy: options.healthy, logger: log, ...(options.watchdogIntervalMs ? { intervalMs: options.watchdogIntervalMs } : {}) });
    if (board.resetButton) this.#button = new ResetButtonWatch({ button: board.resetButton, onReset: options.onResetButton, logger: log });
  }

  start(): void {
    this.#watchdog?.start();
    this.#button?.start();
    if (this.#leds) {
      this.refreshLeds();
      this.#timer = setInterval(() => this.refreshLeds(), this.#options.ledIntervalMs ?? 2000);
      this.#timer.unref();
    }
  }

  refreshLeds(): void {
    this.#leds?.show(this.#options.ledInputs());
  }

  /** Clean stop: LEDs off, watchdog disarmed by magic close. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#button?.stop();
    this.#leds?.off();
    this.#watchdog?.stop();
  }

  counters(): Record<string, number> {
    return { ...this.#leds?.counters(), ...this.#watchdog?.counters() };
  }

  /** For the API and the status report. */
  describe(): { name: string; title: string; architecture: string; explicit: boolean; watchdog: string | null; watchdogArmed: boolean; leds: number; resetButton: boolean } {
    const { board, explicit } = this.#options.selected;
    return { name: board.name, title: board.title, architecture: board.architecture, explicit, watchdog: board.watchdog, watchdogArmed: this.#watchdog?.armed ?? false, leds: board.leds.length, resetButton: board.resetButton !== undefined };
  }
}
