import { randomBytes, type X509Certificate } from 'node:crypto';
import type { RevocationPolicy } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { crlUrls, isHttpUrl, ocspUrls } from './certificate-urls.ts';
import { decodeCertificateList, type CertificateList } from './certificate-list.ts';
import { caKey, crlEntry, crlProblem } from './crl-check.ts';
import { normalSerial } from './der-read.ts';
import { DEFAULT_FETCH, httpFetch, type FetchOptions } from './http-fetch.ts';
import { LocalRevocationList } from './local-list.ts';
import { checkOcspResponse } from './ocsp-check.ts';
import { certIdOf, encodeOcspRequest } from './ocsp-request.ts';
import { decodeOcspResponse, type SingleResponse } from './ocsp-response.ts';
import type { RevocationAnswer, RevocationChecker, RevocationStatus } from './revocation-policy.ts';

/**
 * The revocation shell (issue 16): it owns the HTTP fetches, the caches and the refresh timers, and
 * answers engines synchronously from what it holds. Postern's own CA is answered from its own list
 * (local-list.ts); other CAs by OCSP (RFC 6960) when the certificate names a responder, else by the
 * CRL its distribution point names (RFC 5280 §5), kept until nextUpdate and fetched again in the
 * background before then. A miss starts a fetch and answers `unknown` (pending) meanwhile.
 */
export interface RevocationServiceOptions {
  readonly log: Logger;
  /** Postern's CA and the state directory holding its revocations. */
  readonly own?: { readonly ca: X509Certificate; readonly stateDir: string; readonly policy: RevocationPolicy };
  /**
   * The state of a VPN user in the configuration: a certificate of the own CA issued to a user who
   * is disabled or gone is refused (`suspended`) while that lasts, whatever the policy.
   */
  readonly userState?: (user: string) => UserState;
  readonly trusted?: ReadonlyArray<{ readonly ca: X509Certificate; readonly policy: RevocationPolicy }>;
  /** CAs neither ours nor listed (public roots an SSTP gateway may chain to). */
  readonly otherPolicy?: RevocationPolicy;
  readonly fetch?: (url: string, options: FetchOptions) => Promise<Buffer>;
  readonly clock?: () => Date;
  readonly random?: (n: number) => Uint8Array;
  /** Clock difference tolerated on thisUpdate/nextUpdate. */
  readonly skewMs?: number;
  /** After a failed fetch, answers stay `unknown` this long before trying again. */
  readonly retryMs?: number;
  /** Each fetch's deadline and size cap (5 s and 1 MB by default). */
  readonly limits?: Partial<Pick<FetchOptions, 'timeoutMs' | 'maxBytes'>>;
  /** Bounds on the delay before a held CRL is fetched again (a minute to a day by default). */
  readonly refreshMs?: { readonly min: number; readonly max: number };
  /** How often the own CA's list is looked at for new revocations. */
  readonly pollMs?: number;
  /** New revocations were learned (a refreshed CRL, the own list): live sessions should be checked again. */
  readonly onChange?: () => void;
}

export type UserState = 'enabled' | 'disabled' | 'absent';

interface HeldCrl { readonly crl: CertificateList; readonly ca: string; timer?: NodeJS.Timeout }
interface HeldOcsp { readonly single: SingleResponse; readonly url: string; readonly expires: number }

const MINUTE = 60_000;
/** Answers and failures kept per certificate: beyond this the oldest go (each costs a fetch again). */
const MAX_HELD = 10_000;

/** Keeps a per-certificate map bounded: the oldest entry goes first (Maps iterate in insertion order). */
function bounded<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  if (map.size >= MAX_HELD) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/**
 * When a held CRL is fetched again (pure): at 80 % of its validity, so it never lapses, or in an
 * hour without nextUpdate; after a failed refresh, a minute later; always within [min, max].
 */
export function crlRefreshDelay(crl: Pick<CertificateList, 'thisUpdate' | 'nextUpdate'>, now: Date, retry: boolean, bounds = { min: MINUTE, max: 24 * 60 * MINUTE }): number {
  const { thisUpdate, nextUpdate } = crl;
  const due = retry ? now.getTime() + MINUTE : nextUpdate ? thisUpdate.getTime() + 0.8 * (nextUpdate.getTime() - thisUpdate.getTime()) : now.getTime() + 60 * MINUTE;
  return Math.min(Math.max(due - now.getTime(), bounds.min), bounds.max);
}

export class RevocationService implements RevocationChecker {
  #o: RevocationServiceOptions;
  readonly #local: LocalRevocationList | undefined;
  readonly #ownKey: string | undefined;
  readonly #policies = new Map<string, RevocationPolicy>();
  readonly #crls = new Map<string, HeldCrl>();
  readonly #ocsp = new Map<string, HeldOcsp>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #crlInflight = new Map<string, Promise<void>>();
  readonly #failed = new Map<string, { why: string; until: number }>();
  readonly #poll: NodeJS.Timeout | undefined;
  readonly counters = { fetches: 0, failures: 0, revokedAnswers: 0 };
  #closed = false;

  constructor(options: RevocationServiceOptions) {
    this.#o = options;
    if (options.own) {
      this.#local = new LocalRevocationList(options.own.stateDir);
      this.#local.refresh();
      this.#ownKey = caKey(options.own.ca);
      this.#policies.set(this.#ownKey, options.own.policy);
      this.#poll = setInterval(() => this.#local?.refresh() && this.#o.onChange?.(), options.pollMs ?? 2_000);
      this.#poll.unref();
    }
    for (const t of options.trusted ?? []) this.#policies.set(caKey(t.ca), t.policy);
  }

  /** The user list changed (a user disabled or removed): their certificates are refused from now on. */
  setUserState(userState: (user: string) => UserState): void {
    this.#o = { ...this.#o, userState };
  }

  /** The issuer's own policy; for an intermediate CA not configured, that of the path's trusted CA. */
  policyFor(issuer: X509Certificate, anchor?: X509Certificate): RevocationPolicy {
    return this.#policies.get(caKey(issuer)) ?? (anchor ? this.#policies.get(caKey(anchor)) : undefined) ?? this.otherPolicy;
  }

  get otherPolicy(): RevocationPolicy {
    return this.#o.otherPolicy ?? 'soft';
  }

  check(certificate: X509Certificate, issuer: X509Certificate, now: Date = this.#now(), anchor?: X509Certificate): RevocationAnswer {
    const policy = this.policyFor(issuer, anchor);
    const suspended = this.#userSuspension(certificate, issuer);
    if (suspended) return { policy, status: suspended };
    if (policy === 'off') return { policy, status: { status: 'unknown', why: 'not checked', pending: false } };
    const status = this.#status(certificate, issuer, now);
    if (status.status === 'revoked') this.counters.revokedAnswers++;
    return { policy, status };
  }

  /** For shells that can wait (the SSTP dialer): fetches first when nothing is known yet. */
  async checkNow(certificate: X509Certificate, issuer: X509Certificate, anchor?: X509Certificate): Promise<RevocationAnswer> {
    const first = this.check(certificate, issuer, undefined, anchor);
    if (first.status.status !== 'unknown' || !first.status.pending) return first;
    await this.#inflight.get(this.#key(certificate, issuer));
    return this.check(certificate, issuer, undefined, anchor);
  }

  close(): void {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    for (const held of this.#crls.values()) clearTimeout(held.timer);
  }

  #now = (): Date => this.#o.clock?.() ?? new Date();
  #key = (c: X509Certificate, issuer: X509Certificate): string => `${caKey(issuer)}:${normalSerial(c.serialNumber)}`;

  /** A certificate of the own CA whose user is disabled or no longer configured (issue 17). */
  #userSuspension(certificate: X509Certificate, issuer: X509Certificate): RevocationStatus | undefined {
    if (!this.#local || !this.#o.userState || caKey(issuer) !== this.#ownKey) return undefined;
    const user = this.#local.userOf(certificate.serialNumber);
    if (user === undefined) return undefined;
    const state = this.#o.userState(user);
    if (state === 'enabled') return undefined;
    return { status: 'suspended', source: "Postern's user list", why: state === 'disabled' ? `the user ${user} is disabled` : `the user ${user} no longer exists` };
  }

  #status(certificate: X509Certificate, issuer: X509Certificate, now: Date): RevocationStatus {
    const ca = caKey(issuer);
    if (ca === this.#ownKey && this.#local) {
      const at = this.#local.revokedAt(certificate.serialNumber);
      return at ? { status: 'revoked', source: "Postern's revocation list", revokedAt: at } : { status: 'good', source: "Postern's revocation list" };
    }
    const key = this.#key(certificate, issuer);
    const t = now.getTime();
    const ocsp = this.#ocsp.get(key);
    if (ocsp && ocsp.expires > t && ocsp.single.status !== 'unknown') {
      const source = `OCSP from ${ocsp.url}`;
      return ocsp.single.status === 'revoked' ? { status: 'revoked', source, revokedAt: ocsp.single.revokedAt! } : { status: 'good', source };
    }
    const crls = crlUrls(certificate).filter(isHttpUrl);
    for (const url of crls) {
      const held = this.#crls.get(url);
      if (!held || held.ca !== ca || crlProblem(held.crl, issuer, now, this.#skew())) continue;
      const entry = crlEntry(held.crl, certificate);
      return entry ? { status: 'revoked', source: `CRL from ${url}`, revokedAt: entry.revokedAt } : { status: 'good', source: `CRL from ${url}` };
    }
    const responders = ocspUrls(certificate).filter(isHttpUrl);
    if (responders.length === 0 && crls.length === 0) return { status: 'unknown', why: 'the certificate names no http: OCSP responder or CRL', pending: false };
    if (this.#inflight.has(key)) return { status: 'unknown', why: 'being fetched', pending: true };
    const failed = this.#failed.get(key);
    if (failed && failed.until > Date.now()) return { status: 'unknown', why: failed.why, pending: false };
    const task = this.#resolve(certificate, issuer, responders, crls, key).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, task);
    return { status: 'unknown', why: 'being fetched', pending: true };
  }

  #limits = (): FetchOptions => ({ ...DEFAULT_FETCH, ...this.#o.limits });
  #skew = (): number => this.#o.skewMs ?? 5 * MINUTE;

  /** OCSP first (an answer about this very certificate), then each CRL in turn. */
  async #resolve(certificate: X509Certificate, issuer: X509Certificate, responders: string[], crls: string[], key: string): Promise<void> {
    const errors: string[] = [];
    for (const url of responders) {
      try {
        return await this.#fetchOcsp(url, certificate, issuer, key);
      } catch (error) {
        errors.push(`OCSP ${url}: ${message(error)}`);
      }
    }
    for (const url of crls) {
      try {
        return await this.#crlFetch(url, issuer);
      } catch (error) {
        errors.push(`CRL ${url}: ${message(error)}`);
      }
    }
    this.counters.failures++;
    const why = errors.join('; ');
    bounded(this.#failed, key, { why, until: Date.now() + (this.#o.retryMs ?? 30_000) });
    this.#o.log.warn('revocation status unavailable', { serial: normalSerial(certificate.serialNumber), why });
  }

  async #fetchOcsp(url: string, certificate: X509Certificate, issuer: X509Certificate, key: string): Promise<void> {
    const id = certIdOf(certificate, issuer);
    if (!id) throw new Error('the issuer certificate does not read');
    const nonce = (this.#o.random ?? ((n: number) => randomBytes(n)))(16);
    this.counters.fetches++;
    const body = await (this.#o.fetch ?? httpFetch)(url, { ...this.#limits(), method: 'POST', body: encodeOcspRequest(id, nonce), contentType: 'application/ocsp-request' });
    const decoded = decodeOcspResponse(body);
    if (!decoded.ok) throw new Error(decoded.reason);
    if (!decoded.basic) throw new Error(`responder status ${decoded.responseStatus}`);
    const now = this.#now();
    const verdict = checkOcspResponse(decoded.basic, id, issuer, nonce, now, this.#skew());
    if (!verdict.ok) throw new Error(verdict.reason);
    if (verdict.single.status === 'unknown') throw new Error('the responder does not know the certificate');
    const until = verdict.single.nextUpdate?.getTime() ?? now.getTime() + 5 * MINUTE;
    bounded(this.#ocsp, key, { single: verdict.single, url, expires: Math.min(until, now.getTime() + 24 * 60 * MINUTE) });
    this.#failed.delete(key);
  }

  #crlFetch(url: string, issuer: X509Certificate): Promise<void> {
    const running = this.#crlInflight.get(url);
    if (running) return running;
    const task = this.#fetchCrl(url, issuer).finally(() => this.#crlInflight.delete(url));
    this.#crlInflight.set(url, task);
    return task;
  }

  async #fetchCrl(url: string, issuer: X509Certificate): Promise<void> {
    this.counters.fetches++;
    const body = await (this.#o.fetch ?? httpFetch)(url, this.#limits());
    const decoded = decodeCertificateList(body);
    if (!decoded.ok) throw new Error(decoded.reason);
    const now = this.#now();
    const problem = crlProblem(decoded.crl, issuer, now, this.#skew());
    if (problem) throw new Error(problem);
    const previous = this.#crls.get(url);
    clearTimeout(previous?.timer);
    const held: HeldCrl = { crl: decoded.crl, ca: caKey(issuer) };
    this.#crls.set(url, held);
    for (const k of [...this.#failed.keys()]) if (k.startsWith(`${held.ca}:`)) this.#failed.delete(k);
    this.#o.log.info('CRL fetched', { url, entries: decoded.crl.revoked.size, nextUpdate: decoded.crl.nextUpdate?.toISOString() });
    this.#schedule(url, issuer, held, now);
    if (previous && [...decoded.crl.revoked.keys()].some((s) => !previous.crl.revoked.has(s))) this.#o.onChange?.();
  }

  /** The background refresh of a held CRL (crlRefreshDelay); a refresh that fails is retried. */
  #schedule(url: string, issuer: X509Certificate, held: HeldCrl, now: Date, retry = false): void {
    if (this.#closed) return;
    const delay = crlRefreshDelay(held.crl, now, retry, this.#o.refreshMs);
    held.timer = setTimeout(() => {
      this.#crlFetch(url, issuer).catch((error: unknown) => {
        this.#o.log.warn('CRL refresh failed', { url, error: message(error) });
        if (this.#crls.get(url) === held) this.#schedule(url, issuer, held, this.#now(), true);
      });
    }, delay);
    held.timer.unref();
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
