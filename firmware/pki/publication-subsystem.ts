import { join } from 'node:path';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import type { CertificateAuthority } from './ca.ts';
import { crlPaths, crlRefreshAt, ensureCrl, type CrlInfo } from './crl-store.ts';
import { FileCache, PublicationServer, pemToDerCertificate, type PublicationLimits } from './publication-server.ts';
import { DEFAULT_PUBLICATION_LISTEN, DEFAULT_PUBLICATION_PORT, publicationEnabled } from './publication-urls.ts';

export interface PublicationAddress {
  readonly host: string;
  readonly port: number;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface PublicationOptions {
  readonly logger: Logger;
  readonly stateDir: string;
  /** The CA as loaded now (made at first boot, or imported since). */
  readonly ca: (config: PosternConfig) => CertificateAuthority;
  readonly clock?: () => number;
  /** Tests bind loopback port 0 instead of the configured address. */
  readonly override?: PublicationAddress;
  readonly limits?: Partial<PublicationLimits>;
  readonly timers?: Timers;
  /** Pending ACME HTTP-01 challenges, answered under /.well-known/acme-challenge/. */
  readonly acmeChallenge?: (path: string) => string | undefined;
}

/**
 * At most this long between looks at the CRL, whatever its half-life says: a CA imported meanwhile
 * gets its own CRL within hours, and a long sleep never meets setTimeout's 24.8-day ceiling.
 */
export const MAX_CRL_CHECK_MS = 6 * 3_600_000;
const RETRY_MS = 5 * 60_000;

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export const publicationAddress = (config: PosternConfig, override?: PublicationAddress): PublicationAddress =>
  override ?? { host: config.certificates.publication?.listen ?? DEFAULT_PUBLICATION_LISTEN, port: config.certificates.publication?.port ?? DEFAULT_PUBLICATION_PORT };

/**
 * Serves the CRL and CA certificate (publication-server.ts) and keeps the CRL signed: at half its
 * validity, and at once when the revocations it was made from changed (the API republishes on a
 * revocation too; this catches anything else, such as a restore). A port it cannot bind leaves it
 * unavailable rather than failing the gateway: VPN service matters more than the CRL.
 */
export class PublicationSubsystem implements Subsystem {
  readonly name = 'publication';
  readonly #options: PublicationOptions;
  readonly #timers: Timers;
  readonly #clock: () => number;
  #server: PublicationServer | undefined;
  #bound: PublicationAddress | undefined;
  #timer: unknown;
  #config: PosternConfig | undefined;
  #crl: CrlInfo | undefined;
  #status: SubsystemStatus = { state: 'stopped' };
  readonly counters = { crlSigned: 0, crlFailures: 0 };

  constructor(options: PublicationOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? Date.now;
  }

  async start(config: PosternConfig): Promise<void> {
    this.#config = config;
    this.#status = { state: 'starting' };
    this.refreshCrl();
    await this.#bind(config);
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    this.#config = next;
    const wanted = publicationAddress(next, this.#options.override);
    if (this.#server && this.#bound?.host === wanted.host && this.#bound.port === wanted.port) return;
    const old = this.#server;
    this.#server = undefined;
    await old?.close();
    await this.#bind(next);
    // Thrown so the transaction puts the previous address back (bound again by its reconfigure).
    if (!this.#server) throw new PosternError(ErrorCode.subsystemFailed, `CRL publication cannot listen on ${wanted.host}:${wanted.port}: ${this.#status.detail ?? ''}`);
  }

  async stop(): Promise<void> {
    this.#status = { state: 'stopping' };
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
    await this.#server?.close();
    this.#server = undefined;
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return { ...this.#status, counters: { ...(this.#server?.counters ?? {}), ...this.counters, ...(this.#crl ? { crlNumber: Number(this.#crl.crlNumber) } : {}) } };
  }

  /** Where it listens (tests and logs). */
  address(): PublicationAddress | undefined {
    const a = this.#server?.address();
    return a ? { host: a.address, port: a.port } : undefined;
  }

  /** The CRL as last checked. */
  crl(): CrlInfo | undefined {
    return this.#crl;
  }

  /** Signs the CRL again if it needs it, then sleeps until its half-life (or the next look). */
  refreshCrl(): void {
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    const config = this.#config;
    if (config === undefined) return;
    const now = this.#clock();
    let delay = RETRY_MS;
    try {
      const { crl, resigned } = ensureCrl(this.#options.stateDir, this.#options.ca(config), new Date(now));
      this.#crl = crl;
      if (resigned !== undefined) {
        this.counters.crlSigned++;
        this.#options.logger.info('CRL signed', { why: resigned, crlNumber: crl.crlNumber.toString(), nextUpdate: crl.nextUpdate.toISOString() });
      }
      delay = Math.min(Math.max(crlRefreshAt(crl).getTime() - now, 1_000), MAX_CRL_CHECK_MS);
    } catch (error) {
      this.counters.crlFailures++;
      this.#options.logger.error('could not sign the CRL', { error: error instanceof Error ? error.message : String(error), retryInMs: RETRY_MS });
    }
    this.#timer = this.#timers.set(() => this.refreshCrl(), delay);
  }

  async #bind(config: PosternConfig): Promise<void> {
    const { host, port } = publicationAddress(config, this.#options.override);
    const pki = join(this.#options.stateDir, 'pki');
    const ca = new FileCache(join(pki, 'ca.pem'), pemToDerCertificate);
    const crl = new FileCache(crlPaths(this.#options.stateDir).der);
    const server = new PublicationServer({ crl: () => crl.current(), caCertificate: () => ca.current(), ...(this.#options.acmeChallenge ? { acmeChallenge: this.#options.acmeChallenge } : {}) }, this.#options.limits);
    try {
      const bound = await server.listen(host, port);
      this.#server = server;
      this.#bound = { host, port };
      this.#status = { state: 'running', detail: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}${bound.address === '::' ? ' (IPv6 and IPv4)' : ''}` };
      this.#options.logger.info('CRL publication listening', { address: bound.address, port: bound.port });
    } catch (error) {
      this.#bound = undefined;
      const detail = error instanceof Error ? error.message : String(error);
      this.#status = { state: 'unavailable', detail };
      this.#options.logger.error('CRL publication is not available', { detail, address: host, port });
    }
  }
}

export function publicationSpec(create: () => PublicationSubsystem): SubsystemSpec {
  return {
    name: 'publication',
    // ACME's HTTP-01 is answered here too (issue 16): port 80 has one owner.
    wanted: (c) => publicationEnabled(c.certificates) || (c.certificates.acme?.enabled === true && c.certificates.acme.challenge === 'http-01'),
    slice: (c) => ({ publication: c.certificates.publication ?? {} }),
    create,
  };
}
