import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { Logger } from '../log/logger.ts';

/**
 * Feeds the board's hardware watchdog (/dev/watchdog, Linux watchdog API): opening it arms it, each
 * write is a keepalive, and a 'V' before close is the magic close that disarms it (CONFIG_WATCHDOG_NOWAYOUT
 * aside). It is fed only while the service says it is healthy: a hung event loop or a failed subsystem
 * stops the feeding and the hardware reboots the box. A clean stop writes 'V'; a crash does not.
 */
export interface WatchdogOptions {
  readonly device: string;
  readonly healthy: () => { ok: boolean; why?: string };
  readonly logger: Logger;
  /** Well under the usual 15–60 s hardware timeouts. */
  readonly intervalMs?: number;
}

export const WATCHDOG_KEEPALIVE = 'k';
export const WATCHDOG_MAGIC_CLOSE = 'V';

export class WatchdogFeeder {
  readonly #options: WatchdogOptions;
  #fd: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #fed = 0;
  #withheld = 0;
  #starving = false;

  constructor(options: WatchdogOptions) {
    this.#options = options;
  }

  counters(): Record<string, number> {
    return { watchdogFed: this.#fed, watchdogWithheld: this.#withheld };
  }

  get armed(): boolean {
    return this.#fd !== undefined;
  }

  /** Opens (arms) the device; an absent device is logged and the service runs without it. */
  start(): void {
    if (this.#fd !== undefined) return;
    try {
      // No O_CREAT: a missing device must not become a plain file in /dev.
      this.#fd = openSync(this.#options.device, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      this.#options.logger.warn('watchdog not armed', { device: this.#options.device, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    this.#options.logger.info('watchdog armed', { device: this.#options.device });
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.#options.intervalMs ?? 5000);
  }

  /** One feeding, if healthy. */
  tick(): void {
    if (this.#fd === undefined) return;
    const health = this.#options.healthy();
    if (!health.ok) {
      this.#withheld++;
      if (!this.#starving) this.#options.logger.error('watchdog not fed: the service is unhealthy', { why: health.why });
      this.#starving = true;
      return;
    }
    if (this.#starving) this.#options.logger.info('watchdog fed again');
    this.#starving = false;
    this.#write(WATCHDOG_KEEPALIVE);
    this.#fed++;
  }

  /** Clean stop: magic close, so the box does not reboot under an orderly restart. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    this.#write(WATCHDOG_MAGIC_CLOSE, fd);
    closeSync(fd);
    this.#options.logger.info('watchdog disarmed (magic close)');
  }

  #write(byte: string, fd = this.#fd): void {
    if (fd === undefined) return;
    try {
      writeSync(fd, byte);
    } catch (error) {
      this.#options.logger.warn('watchdog write failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
