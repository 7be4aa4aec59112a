/**
 * Token enrollment in the service (issue 26): a fresh box whose board profile has an enrollment token
 * and no factory certificate starts with its telemetry off (enrollment.ts presetFleet), exchanges the
 * token for a certificate (token-enroller.ts), then turns its telemetry on with that certificate
 * through applyConfig in safe mode. The change is confirmed by the telemetry's first connection to
 * the broker after it, so a certificate the broker does not take reverts by itself; the switch is
 * then tried again after a pause (1 min doubling to 1 h), not only at the next start.
 */
import { readFileSync } from 'node:fs';
import type { BoardFleet } from '../board/types.ts';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { BOARD_CERTIFICATE, enrolledConfig, enrollsByToken } from './enrollment.ts';
import { enrolledCertificate, readToken } from './enrolled-files.ts';
import { keyIdOf, parsePublicKey } from './envelope.ts';
import { TokenEnroller } from './token-enroller.ts';

export interface TokenEnrollmentWiringDeps {
  readonly fleet: BoardFleet | undefined;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly current: () => { readonly config: PosternConfig };
  readonly apply: (next: PosternConfig, meta: { author: string; comment: string; confirmWithin: number }) => Promise<{ ok: true; revision: number } | { ok: false }>;
  readonly safeModePending: () => number | undefined;
  readonly confirmSafeMode: () => boolean;
  readonly retryMs?: number;
  /** The first pause before a reverted switch is tried again (doubling to SWITCH_RETRY_MAX_MS). */
  readonly switchRetryMs?: number;
}

export const SWITCH_RETRY_FIRST_MS = 60_000;
export const SWITCH_RETRY_MAX_MS = 3_600_000;

export class TokenEnrollmentWiring {
  enroller: TokenEnroller | undefined;
  /** The switch to the enrolled certificate, while safe mode waits for the broker. */
  #switch: { revision?: number; connected: boolean } | undefined;
  #issued = false;
  /** Switches safe mode undid since the last one the broker took. */
  #reverts = 0;
  #retry: NodeJS.Timeout | undefined;
  readonly #d: TokenEnrollmentWiringDeps;

  constructor(d: TokenEnrollmentWiringDeps) {
    this.#d = d;
  }

  start(): void {
    const fleet = this.#d.fleet;
    if (!fleet || !enrollsByToken(fleet)) return;
    const mqtt = this.#d.current().config.telemetry.mqtt;
    if (enrolledCertificate(this.#d.stateDir)) {
      // Enrolled before, but the switch did not happen (the power went between the two).
      if (!mqtt.enabled && mqtt.clientCertificate === BOARD_CERTIFICATE) void this.#switchToEnrolled();
      return;
    }
    const token = readToken(fleet.enrollmentTokenFile!);
    if ('why' in token) return this.#d.logger.error('fleet: cannot enroll with a token', { why: token.why });
    const url = fleet.enrollmentBroker ?? fleet.broker;
    if (!url) return this.#d.logger.error('fleet: cannot enroll with a token: the board profile names no broker (fleet.enrollmentBroker or fleet.broker)');
    const keys = fleet.operatorKeys.flatMap((k) => {
      const parsed = parsePublicKey(k);
      return parsed.ok ? [{ id: keyIdOf(parsed.value), key: parsed.value }] : [];
    });
    this.enroller = new TokenEnroller({
      stateDir: this.#d.stateDir, logger: this.#d.logger, clock: this.#d.clock, serial: mqtt.deviceId, prefix: mqtt.prefix, url, token: token.token, keys,
      ...(fleet.ca ? { ca: readFileSync(fleet.ca, 'utf8') } : {}),
      ...(this.#d.retryMs ? { retryMs: this.#d.retryMs } : {}),
      onEnrolled: () => {
        this.#issued = true;
        void this.#switchToEnrolled();
      },
    });
    this.enroller.start();
  }

  stop(): void {
    this.enroller?.stop();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** From the service's safe mode: a switch the broker did not take is tried again after a pause. */
  safeModeOutcome(kind: 'confirmed' | 'reverted' | 'revert-failed', revision: number): void {
    const s = this.#switch;
    if (!s || s.revision !== revision || kind === 'confirmed') return;
    this.#switch = undefined;
    if (kind === 'revert-failed') return; // the configuration is not the one before: nothing to try again from
    this.#reverts++;
    const pause = Math.min(SWITCH_RETRY_MAX_MS, (this.#d.switchRetryMs ?? SWITCH_RETRY_FIRST_MS) * 2 ** Math.min(this.#reverts - 1, 20));
    this.#d.logger.error('fleet: the broker did not take the enrolled certificate; switching to it again later', { reverts: this.#reverts, retryInSeconds: Math.round(pause / 1000) });
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      const mqtt = this.#d.current().config.telemetry.mqtt;
      // Still off with the enrolled certificate named (a technician may have changed it meanwhile).
      if (!mqtt.enabled && mqtt.clientCertificate === BOARD_CERTIFICATE && enrolledCertificate(this.#d.stateDir)) void this.#switchToEnrolled();
      else this.#d.logger.info('fleet: not switching to the enrolled certificate again: the telemetry settings changed meanwhile');
    }, pause);
    this.#retry.unref();
  }

  /**
   * A token being exchanged, or the switch to the issued certificate waiting for the broker or to be
   * tried again after a revert (the Fleet page, /healthz).
   */
  get enrolling(): boolean {
    return (this.enroller !== undefined && !this.#issued) || this.#switch !== undefined || this.#retry !== undefined;
  }

  /** Each telemetry connection (from the fleet agent): confirms the switch once it waits on it. */
  telemetryConnected(): void {
    const s = this.#switch;
    if (!s) return;
    if (s.revision === undefined) {
      s.connected = true; // the connection came before the apply returned
      return;
    }
    this.#confirm(s.revision);
  }

  async #switchToEnrolled(): Promise<void> {
    const config = this.#d.current().config;
    this.#switch = { connected: false };
    const result = await this.#d.apply(enrolledConfig(config), {
      author: 'fleet', comment: 'enrolled with a one-time token: telemetry on with the issued certificate', confirmWithin: config.telemetry.mqtt.fleet?.confirmSeconds ?? 120,
    });
    if (!result.ok) {
      this.#switch = undefined;
      return this.#d.logger.error('fleet: enrolled, but turning the telemetry on with the certificate was refused');
    }
    const connected = this.#switch?.connected === true;
    this.#switch = { revision: result.revision, connected };
    if (connected) this.#confirm(result.revision);
  }

  #confirm(revision: number): void {
    if (this.#d.safeModePending() !== revision) return;
    this.#switch = undefined;
    this.#reverts = 0;
    if (this.#d.confirmSafeMode()) this.#d.logger.info('fleet: the box reached its broker with its enrolled certificate', { configRevision: revision });
  }
}
