/**
 * The box's shell for token enrollment (issue 26): connects to the enrollment broker with its serial
 * as user name and the one-time token as password, subscribes to its certificate topic, publishes its
 * request (retained, so a console that starts later still sees it), and hands an issued certificate
 * to the service once token-enrollment.ts says it is the box's own. No decisions here.
 */
import { createPublicKey } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { mqttLink, type LinkFactory, type MqttLink } from '../telemetry/mqtt-link.ts';
import type { Secret } from '../util/secret.ts';
import { enrollmentKey, writeEnrolled } from './enrolled-files.ts';
import { csrSha256, encodeEnrollRequest, enrollTopics, verifyEnrollAnswer } from './token-enrollment.ts';
import type { OperatorKey } from './verify-desired.ts';

export interface TokenEnrollerDeps {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly serial: string;
  readonly prefix: string;
  readonly url: string;
  readonly ca?: string;
  readonly token: Secret<string>;
  readonly keys: readonly OperatorKey[];
  /** The certificate is on disk (enrolled-files.ts); the service switches the telemetry to it. */
  readonly onEnrolled: () => void;
  readonly link?: LinkFactory;
  /** First retry after a lost or refused connection; doubles up to a minute. */
  readonly retryMs?: number;
}

export interface TokenEnrollerCounters {
  connects: number;
  requests: number;
  refused: number;
  rejected: number;
}

export class TokenEnroller {
  readonly counters: TokenEnrollerCounters = { connects: 0, requests: 0, refused: 0, rejected: 0 };
  /** The console's last refusal, in words. */
  lastRefusal: { code: string; reason: string } | undefined;
  #link: MqttLink | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #done = false;
  readonly #d: TokenEnrollerDeps;
  readonly #topics;
  readonly #key;

  constructor(d: TokenEnrollerDeps) {
    this.#d = d;
    this.#retryMs = d.retryMs ?? 2000;
    this.#topics = enrollTopics(d.prefix, d.serial);
    this.#key = enrollmentKey(d.stateDir, d.serial);
  }

  start(): void {
    if (this.#done || this.#link) return;
    this.#d.logger.info('fleet: enrolling with a one-time token', { serial: this.#d.serial, broker: this.#d.url });
    const link = (this.#d.link ?? mqttLink)(
      { url: this.#d.url, clientId: `postern-enroll-${this.#d.serial}`, username: this.#d.serial, password: this.#d.token, ...(this.#d.ca ? { ca: this.#d.ca } : {}) },
      {
        connected: () => void this.#connected(link),
        closed: () => this.#closed(link),
        error: (error) => this.#d.logger.warn('fleet: enrollment broker connection failed', { error: error.message }),
        message: (topic, payload) => this.#message(topic, payload),
      },
    );
    this.#link = link;
  }

  stop(): void {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#link?.destroy();
    this.#link = undefined;
  }

  async #connected(link: MqttLink): Promise<void> {
    this.counters.connects++;
    this.#retryMs = this.#d.retryMs ?? 2000;
    try {
      // Subscribed first: an answer already given (retained) arrives before a new request is sent.
      await link.subscribe(this.#topics.certificate);
      if (this.#done) return;
      await link.publish(this.#topics.request, encodeEnrollRequest(this.#d.serial, this.#key.csr, this.#d.token.reveal(), this.#d.clock()), { qos: 1, retain: true });
      this.counters.requests++;
      this.#d.logger.info('fleet: enrollment request sent', { topic: this.#topics.request });
    } catch (error) {
      this.#d.logger.warn('fleet: the enrollment request could not be sent', { error: error instanceof Error ? error.message : String(error) });
      link.destroy();
    }
  }

  #closed(link: MqttLink): void {
    if (this.#link !== link) return;
    this.#link = undefined;
    if (this.#done) return;
    this.#timer = setTimeout(() => this.start(), this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, 60_000);
  }

  #message(topic: string, payload: Buffer): void {
    if (topic !== this.#topics.certificate || this.#done || payload.length === 0) return;
    const verdict = verifyEnrollAnswer(payload, {
      serial: this.#d.serial, keys: this.#d.keys, publicKey: createPublicKey(this.#key.privateKey), csrSha256: csrSha256(this.#key.csr).toString('hex'), now: this.#d.clock(),
    });
    if (verdict.kind === 'reject') {
      this.counters.rejected++;
      this.#d.logger.warn('fleet: enrollment answer not taken', { why: verdict.why });
      return;
    }
    if (verdict.kind === 'refused') {
      this.counters.refused++;
      this.lastRefusal = { code: verdict.code, reason: verdict.reason };
      this.#d.logger.error(`fleet: the console refused this box's enrollment: ${verdict.reason}`, { code: verdict.code });
      return;
    }
    writeEnrolled(this.#d.stateDir, verdict.certificatePem, verdict.caPem);
    this.#d.logger.info('fleet: enrolled: the console issued this box its certificate', { serial: this.#d.serial });
    this.stop();
    this.#d.onEnrolled();
  }
}
