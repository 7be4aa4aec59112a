import { X509Certificate } from 'node:crypto';
import type { AcmeConfig, PosternConfig } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../../supervisor/subsystem.ts';
import type { Timers } from '../publication-subsystem.ts';
import { AcmeChallenges } from './acme-challenges.ts';
import { createAccountKey, obtainWithAcmeClient, type ObtainCertificate } from './acme-obtain.ts';
import { AcmeSchedule } from './acme-schedule.ts';
import { acmeCertificateUsable, acmeNamesOf, readAccountKey, readAcmeCertificate, writeAccountKey, writeAcmeCertificate, type AcmeCertificate } from './acme-store.ts';

export interface AcmeOptions {
  readonly logger: Logger;
  readonly stateDir: string;
  /** Shared with the publication listener, which answers HTTP-01 from it. */
  readonly challenges: AcmeChallenges;
  readonly clock?: () => number;
  readonly timers?: Timers;
  /** The ACME exchange; tests put a fake in. */
  readonly obtain?: ObtainCertificate;
  /** A new certificate is in the state directory: the listeners take it up. */
  readonly onCertificate?: (certificate: AcmeCertificate) => void;
  /** An attempt failed (the telemetry event). */
  readonly onFailure?: (details: { error: string; failures: number; retryAt: string; notAfter?: string }) => void;
}

/** What the web UI and the API show about ACME: the certificate held, the next attempt, the last failure. */
export interface AcmeReport {
  readonly running: boolean;
  /** The stored ACME certificate, if any (it may not cover today's names: then one is being ordered). */
  readonly certificate?: { readonly names: readonly string[]; readonly notBefore: string; readonly notAfter: string; readonly issuer: string; readonly usable: boolean };
  /** When the next order or renewal is due. */
  readonly nextAttemptAt?: string;
  readonly ordering: boolean;
  readonly failures: number;
  readonly lastError?: { readonly message: string; readonly at: string };
  readonly lastIssuedAt?: string;
  readonly issued: number;
}

const realTimers: Timers = { set: (fn, ms) => setTimeout(fn, ms).unref(), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

/** The names to order: the gateway certificate's DNS names, common name first (a public CA checks each). */
export const acmeNames = (config: PosternConfig): string[] => acmeNamesOf(config.certificates);

/**
 * Keeps a public gateway certificate by ACME (issue 16): ordered when there is none usable, renewed
 * 30 days before expiry, retried with backoff (acme-schedule.ts), an event on each failure. One
 * attempt at a time; the timer is the only thing that starts one.
 */
export class AcmeSubsystem implements Subsystem {
  readonly name = 'acme';
  readonly counters = { issued: 0, failures: 0 };
  readonly #o: AcmeOptions;
  readonly #timers: Timers;
  readonly #clock: () => number;
  #config: PosternConfig | undefined;
  #schedule: AcmeSchedule | undefined;
  #timer: unknown;
  #attempt: Promise<void> | undefined;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #lastIssuedAt: number | undefined;
  #status: SubsystemStatus = { state: 'stopped' };

  constructor(options: AcmeOptions) {
    this.#o = options;
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? Date.now;
  }

  async start(config: PosternConfig): Promise<void> {
    this.#config = config;
    const now = this.#clock();
    const held = readAcmeCertificate(this.#o.stateDir);
    const usable = held && acmeCertificateUsable(held, acmeNames(config), now) ? held : undefined;
    this.#schedule = new AcmeSchedule(usable?.notAfter, now);
    this.#status = { state: 'running', detail: usable ? `certificate until ${new Date(usable.notAfter).toISOString()}` : 'ordering a certificate' };
    this.#arm();
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    const before = this.#config;
    this.#config = next;
    const changed = !before || JSON.stringify(acmeNames(before)) !== JSON.stringify(acmeNames(next)) || JSON.stringify(before.certificates.acme) !== JSON.stringify(next.certificates.acme);
    if (changed) await this.start(next);
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#config = undefined;
    await this.#attempt;
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    const s = this.#schedule;
    const next = s ? `; next attempt ${new Date(s.nextAttemptAt).toISOString()}` : '';
    const error = this.#lastError ? `; last error: ${this.#lastError}` : '';
    return { ...this.#status, detail: `${this.#status.detail ?? ''}${next}${error}`, counters: { ...this.counters, consecutiveFailures: s?.failures ?? 0 } };
  }

  report(): AcmeReport {
    const held = readAcmeCertificate(this.#o.stateDir);
    const s = this.#schedule;
    const running = this.#config !== undefined;
    const iso = (ms: number) => new Date(ms).toISOString();
    let certificate: AcmeReport['certificate'];
    if (held) {
      const x = new X509Certificate(held.certificatePem);
      const usable = this.#config ? acmeCertificateUsable(held, acmeNames(this.#config), this.#clock()) : held.notAfter > this.#clock();
      certificate = { names: held.names, notBefore: iso(Date.parse(x.validFrom)), notAfter: iso(held.notAfter), issuer: x.issuer.replace(/\n/g, ', '), usable };
    }
    return {
      running, ordering: this.#attempt !== undefined, failures: running ? (s?.failures ?? 0) : 0, issued: this.counters.issued,
      ...(certificate ? { certificate } : {}),
      ...(running && s ? { nextAttemptAt: iso(s.nextAttemptAt) } : {}),
      ...(this.#lastError !== undefined ? { lastError: { message: this.#lastError, at: iso(this.#lastErrorAt ?? 0) } } : {}),
      ...(this.#lastIssuedAt !== undefined ? { lastIssuedAt: iso(this.#lastIssuedAt) } : {}),
    };
  }

  /** The attempt under way, if any (tests wait on it). */
  settled(): Promise<void> {
    return this.#attempt ?? Promise.resolve();
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    const s = this.#schedule;
    if (!s || !this.#config) return;
    this.#timer = this.#timers.set(() => this.#wake(), s.sleepMs(this.#clock()));
  }

  #wake(): void {
    this.#timer = undefined;
    const s = this.#schedule;
    const config = this.#config;
    if (!s || !config || this.#attempt) return;
    if (!s.due(this.#clock())) return this.#arm();
    const acmeConfig = config.certificates.acme;
    if (!acmeConfig?.enabled) return;
    this.#attempt = this.#order(config, acmeConfig, s).finally(() => {
      this.#attempt = undefined;
      this.#arm();
    });
  }

  async #order(config: PosternConfig, acmeConfig: AcmeConfig, s: AcmeSchedule): Promise<void> {
    const names = acmeNames(config);
    const log = this.#o.logger;
    try {
      if (names.length === 0) throw new Error('the gateway certificate names no DNS name to order (certificates.server)');
      let accountKey = readAccountKey(this.#o.stateDir);
      if (!accountKey) {
        accountKey = await createAccountKey();
        writeAccountKey(this.#o.stateDir, accountKey);
      }
      log.info('ordering a certificate by ACME', { names, directory: acmeConfig.directoryUrl, challenge: acmeConfig.challenge });
      const got = await (this.#o.obtain ?? obtainWithAcmeClient)({ config: acmeConfig, names, accountKey, challenges: this.#o.challenges });
      const stored = writeAcmeCertificate(this.#o.stateDir, got.certificatePem, got.keyPem);
      const now = this.#clock();
      s.succeeded(stored.notAfter, now);
      this.counters.issued++;
      this.#lastError = undefined;
      this.#lastIssuedAt = now;
      this.#status = { state: 'running', detail: `certificate until ${new Date(stored.notAfter).toISOString()}` };
      log.info('ACME certificate issued', { names: stored.names, notAfter: new Date(stored.notAfter).toISOString(), renewAt: new Date(s.nextAttemptAt).toISOString() });
      this.#o.onCertificate?.(stored);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const f = s.failed(this.#clock());
      this.counters.failures++;
      this.#lastError = message;
      this.#lastErrorAt = this.#clock();
      const details = { error: message, failures: f.failures, retryAt: new Date(f.retryAt).toISOString(), ...(f.notAfter !== undefined ? { notAfter: new Date(f.notAfter).toISOString() } : {}) };
      log.error('ACME order failed', details);
      this.#o.onFailure?.(details);
    }
  }
}

export function acmeSpec(create: () => AcmeSubsystem): SubsystemSpec {
  return { name: 'acme', wanted: (c) => c.certificates.acme?.enabled === true, slice: (c) => ({ acme: c.certificates.acme, names: acmeNames(c) }), create };
}
