/**
 * The box's side of certificate renewal (issue 26; renewal.ts, renewal-plan.ts), on the telemetry's
 * connection: when the plan says so, the renewal request (a new key's CSR signed with the current
 * certificate's key) goes out retained on `<prefix>/enroll/<serial>/renew`; the console's signed
 * answer comes on the certificate topic. An issued certificate is switched to like a safe-mode change:
 * the old files are kept, the telemetry restarts with the new identity, and a connection within
 * `confirmMs` keeps it; without one, the old certificate is put back and the attempt counts as failed.
 * `tick()` is driven by a timer in the service (and by tests with their own clock).
 *
 * A box on its factory certificate (the board's files) renews it the same way: signed with the
 * factory key, answered from the enrollment CA (when the console trusts that factory's CA), and kept
 * in the state directory from then on; the board's files are never written, so a factory reset goes
 * back to them.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { TelemetryConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { ClientCertificate } from '../telemetry/mqtt-link.ts';
import type { RetainedPublisher, TelemetryExtension } from '../telemetry/mqtt-telemetry.ts';
import { BOARD_CERTIFICATE } from './enrollment.ts';
import { dropPrevious, enrolledCertificate, renewalKey, revertRenewed, switchToRenewed } from './enrolled-files.ts';
import { encodeRenewRequest, renewalDueAt, renewTopic } from './renewal.ts';
import { nextStep, onRenewalEvent, planFor, type RenewalState } from './renewal-plan.ts';
import { csrSha256, enrollTopics, verifyEnrollAnswer } from './token-enrollment.ts';
import type { OperatorKey } from './verify-desired.ts';

export interface CertRenewerDeps {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly keys: () => readonly OperatorKey[];
  /** Restarts the telemetry so it dials with the certificate on disk now. */
  readonly restartTelemetry: () => Promise<void>;
  /** How long the broker has to take a new certificate. */
  readonly confirmMs: () => number;
  /** The board's factory certificate, in use while the box holds no enrolled one. */
  readonly factory?: () => ClientCertificate | undefined;
}

export interface RenewalStatus {
  readonly notAfter: string;
  readonly dueAt: string;
  readonly failures: number;
  readonly nextAttemptAt?: string;
  readonly waiting: boolean;
  readonly switching: boolean;
  readonly lastFailure?: { readonly code: string; readonly reason: string; readonly at: string };
  readonly renewedAt?: string;
}

export class CertRenewer {
  readonly counters = { requests: 0, issued: 0, refused: 0, rejected: 0, confirmed: 0, reverted: 0 };
  readonly #d: CertRenewerDeps;
  #plan: RenewalState | undefined;
  #link: { readonly serial: string; readonly prefix: string; readonly send: RetainedPublisher } | undefined;
  #switching: { readonly at: number; readonly notBefore: number; readonly notAfter: number } | undefined;
  #renewedAt: number | undefined;
  #busy = false;

  constructor(d: CertRenewerDeps) {
    this.#d = d;
  }

  /** On a connection that uses the enrolled (or factory) certificate: the answer topic, and each connect. */
  extension(settings: TelemetryConfig['mqtt']): TelemetryExtension | undefined {
    if (!settings.enabled || settings.clientCertificate !== BOARD_CERTIFICATE || !this.#current()) return undefined;
    const topics = enrollTopics(settings.prefix, settings.deviceId);
    return {
      subscriptions: [topics.certificate],
      message: (topic, payload) => {
        if (topic === topics.certificate && payload.length > 0) void this.#answer(settings.deviceId, payload);
      },
      connected: (send) => {
        this.#link = { serial: settings.deviceId, prefix: settings.prefix, send };
        const s = this.#switching;
        if (s) {
          // The broker took the new certificate.
          this.#switching = undefined;
          dropPrevious(this.#d.stateDir);
          this.counters.confirmed++;
          this.#renewedAt = this.#d.clock();
          this.#plan = onRenewalEvent(this.#planNow()!, { kind: 'renewed', notBefore: s.notBefore, notAfter: s.notAfter });
          this.#d.logger.info('fleet: the broker took the renewed certificate', { notAfter: new Date(s.notAfter).toISOString() });
        }
        void this.tick();
      },
    };
  }

  /** Sends a request when due; puts the old certificate back when the broker did not take a new one in time. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = this.#d.clock();
      const s = this.#switching;
      if (s) {
        if (now - s.at >= this.#d.confirmMs()) await this.#revert(now);
        return;
      }
      const plan = this.#planNow();
      if (!plan || !this.#link) return;
      const step = nextStep(plan, now);
      this.#plan = step.state;
      if (step.action === 'send') await this.#request(now);
    } finally {
      this.#busy = false;
    }
  }

  status(): RenewalStatus | undefined {
    const plan = this.#planNow();
    if (!plan) return undefined;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      notAfter: iso(plan.notAfter), dueAt: iso(renewalDueAt(plan.notBefore, plan.notAfter)), failures: plan.failures,
      ...(plan.failures > 0 ? { nextAttemptAt: iso(plan.retryAt) } : {}),
      waiting: plan.waiting !== undefined, switching: this.#switching !== undefined,
      ...(plan.lastFailure ? { lastFailure: { code: plan.lastFailure.code, reason: plan.lastFailure.reason, at: iso(plan.lastFailure.at) } } : {}),
      ...(this.#renewedAt !== undefined ? { renewedAt: iso(this.#renewedAt) } : {}),
    };
  }

  #current(): { cert: X509Certificate; pem: string; keyPem: string } | undefined {
    const c = enrolledCertificate(this.#d.stateDir) ?? this.#d.factory?.();
    if (!c) return undefined;
    try {
      return { cert: new X509Certificate(c.cert), pem: c.cert, keyPem: c.key.reveal() };
    } catch {
      return undefined;
    }
  }

  /** The plan for the certificate in use (made again when it changed on disk). */
  #planNow(): RenewalState | undefined {
    const c = this.#current();
    if (!c) return undefined;
    const notBefore = Date.parse(c.cert.validFrom);
    const notAfter = Date.parse(c.cert.validTo);
    if (!this.#plan || this.#plan.notAfter !== notAfter || this.#plan.notBefore !== notBefore) this.#plan = planFor(notBefore, notAfter);
    return this.#plan;
  }

  async #request(now: number): Promise<void> {
    const link = this.#link;
    const c = this.#current();
    if (!link || !c || !this.#plan) return;
    const key = renewalKey(this.#d.stateDir, link.serial);
    const text = encodeRenewRequest(link.serial, key.csr, c.pem, createPrivateKey(c.keyPem), now);
    this.#plan = onRenewalEvent(this.#plan, { kind: 'sent', csrSha256: csrSha256(key.csr).toString('hex'), at: now });
    this.counters.requests++;
    this.#d.logger.info('fleet: asking the console to renew this box\'s certificate', { notAfter: new Date(this.#plan.notAfter).toISOString() });
    await link.send(renewTopic(link.prefix, link.serial), text).catch((error: unknown) => this.#d.logger.warn('fleet: the renewal request could not be sent', { error: error instanceof Error ? error.message : String(error) }));
  }

  async #answer(serial: string, payload: Buffer): Promise<void> {
    const plan = this.#plan;
    if (!plan?.waiting || this.#switching) return; // not asking now (the retained answer to enrollment or an old renewal)
    const key = renewalKey(this.#d.stateDir, serial);
    const now = this.#d.clock();
    const verdict = verifyEnrollAnswer(payload, { serial, keys: this.#d.keys(), publicKey: createPublicKey(key.privateKey), csrSha256: plan.waiting.csrSha256, now });
    if (verdict.kind === 'reject') {
      this.counters.rejected++;
      return this.#d.logger.warn('fleet: renewal answer not taken', { why: verdict.why });
    }
    if (verdict.kind === 'refused') {
      this.counters.refused++;
      this.#plan = onRenewalEvent(plan, { kind: 'refused', code: verdict.code, reason: verdict.reason, at: now });
      return this.#d.logger.error(`fleet: the console refused to renew this box's certificate: ${verdict.reason}`, { code: verdict.code, nextAttemptAt: new Date(this.#plan.retryAt).toISOString() });
    }
    this.counters.issued++;
    const issued = new X509Certificate(verdict.certificatePem);
    switchToRenewed(this.#d.stateDir, verdict.certificatePem, verdict.caPem);
    this.#switching = { at: now, notBefore: Date.parse(issued.validFrom), notAfter: Date.parse(issued.validTo) };
    this.#d.logger.info('fleet: renewed certificate received; switching to it', { notAfter: issued.validTo });
    await this.#d.restartTelemetry();
  }

  async #revert(now: number): Promise<void> {
    this.#switching = undefined;
    this.counters.reverted++;
    const back = revertRenewed(this.#d.stateDir);
    const plan = this.#planNow();
    if (plan) this.#plan = onRenewalEvent({ ...plan, waiting: { csrSha256: '', sentAt: now } }, { kind: 'reverted', at: now });
    this.#d.logger.error('fleet: the broker did not take the renewed certificate in time; the previous one is back', { restored: back });
    await this.#d.restartTelemetry();
  }
}
