import type { Logger } from '../log/logger.ts';
import { certificatesInUse, expiryOf, ExpiryAnnouncements, type CertificateExpiry, type CertificateInUse } from './expiry.ts';
import type { GatewayPki } from './pki-store.ts';
import type { Timers } from './publication-subsystem.ts';

export interface ExpiryWatchOptions {
  readonly stateDir: string;
  readonly logger: Logger;
  /** The certificates as loaded now (loading also renews Postern's own gateway certificate when due). */
  readonly pki: () => GatewayPki;
  readonly clock?: () => number;
  /** Once per certificate entering its last 30 days: the telemetry event. */
  readonly onExpiring: (expiry: CertificateExpiry) => void;
  readonly timers?: Timers;
  readonly intervalMs?: number;
}

/** Twice a day: a certificate's last 30 days are noticed within half a day. */
export const EXPIRY_CHECK_MS = 12 * 3_600_000;

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Looks at the certificates in use now and then (issue 16): warns in the log while any is in its
 * last 30 days, and fires the event once per certificate. What it found is what the API status and
 * the MQTT status report, with days left counted at the time they are read.
 */
export class ExpiryWatch {
  readonly #options: ExpiryWatchOptions;
  readonly #timers: Timers;
  readonly #clock: () => number;
  readonly #announcements: ExpiryAnnouncements;
  #inUse: CertificateInUse[] = [];
  #timer: unknown;

  constructor(options: ExpiryWatchOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? Date.now;
    this.#announcements = new ExpiryAnnouncements(options.stateDir, options.logger);
  }

  start(): void {
    this.check();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
  }

  /** Looks now, then schedules the next look. */
  check(): CertificateExpiry[] {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    let found: CertificateExpiry[] = [];
    try {
      this.#inUse = certificatesInUse(this.#options.pki());
      found = this.current();
      for (const e of found.filter((x) => x.warning)) {
        this.#options.logger.warn(e.expired ? 'certificate expired' : 'certificate expires soon', { role: e.role, subject: e.subject, notAfter: e.notAfter, daysLeft: e.daysLeft });
      }
      for (const e of this.#announcements.takeNew(found)) this.#options.onExpiring(e);
    } catch (error) {
      this.#options.logger.error('could not check certificate expiry', { error: error instanceof Error ? error.message : String(error) });
    }
    this.#timer = this.#timers.set(() => this.check(), this.#options.intervalMs ?? EXPIRY_CHECK_MS);
    return found;
  }

  /** The certificates last found, their days left counted now. */
  current(): CertificateExpiry[] {
    return expiryOf(this.#inUse, new Date(this.#clock()));
  }
}
