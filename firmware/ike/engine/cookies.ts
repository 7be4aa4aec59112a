import { createHash, timingSafeEqual } from 'node:crypto';
import { sourceKey } from '../../util/source-key.ts';
import type { Endpoint } from './types.ts';

/**
 * Stateless cookies (RFC 7296 §2.6) and the limits around half-open SAs. Under load the responder
 * answers IKE_SA_INIT with a COOKIE and keeps no state; only an initiator that can receive at its
 * address comes back with it. Cookie = <secret version> | SHA-256(Ni | IPi | SPIi | secret).
 */
export interface CookieOptions {
  /** Ask for cookies once this many SAs are half-open. */
  readonly threshold: number;
  /** Refuse (drop) new IKE_SA_INIT once this many are half-open. */
  readonly halfOpenLimit: number;
  /** New IKE_SA_INIT per source (an IPv4 address or an IPv6 /64) per second (token bucket, burst of twice the rate). */
  readonly perSourceRate: number;
  /** The secret changes this often; cookies made with the previous one are still accepted. */
  readonly secretLifetimeMs: number;
}

export const defaultCookieOptions: CookieOptions = { threshold: 100, halfOpenLimit: 5000, perSourceRate: 20, secretLifetimeMs: 60_000 };

const MAX_TRACKED_SOURCES = 10_000;

export class CookieGuard {
  readonly #options: CookieOptions;
  readonly #random: (n: number) => Uint8Array;
  #secrets: Array<{ version: number; secret: Uint8Array }> = [];
  #rotatedAt = -Infinity;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: CookieOptions, random: (n: number) => Uint8Array) {
    this.#options = options;
    this.#random = random;
  }

  get options(): CookieOptions {
    return this.#options;
  }

  /**
   * A token bucket per source; false when this source sends too fast. An IPv6 source is its /64
   * (issue 24): one subscriber holds a whole /64 (RFC 6177) and could otherwise take a fresh address
   * for every IKE_SA_INIT. The cookie itself stays bound to the exact address (RFC 7296 §2.6).
   */
  allow(from: Endpoint, now: number): boolean {
    const rate = this.#options.perSourceRate;
    const key = sourceKey(from.address);
    const b = this.#buckets.get(key) ?? { tokens: 2 * rate, at: now };
    b.tokens = Math.min(2 * rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    if (!this.#buckets.has(key) && this.#buckets.size >= MAX_TRACKED_SOURCES) {
      // Bounded memory under a spoofed flood: forget the oldest source.
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    this.#buckets.set(key, b);
    return true;
  }

  make(ni: Uint8Array, from: Endpoint, spiI: bigint, now: number): Uint8Array {
    this.#rotate(now);
    const current = this.#secrets[0]!;
    return Buffer.concat([Uint8Array.of(current.version), this.#hash(ni, from, spiI, current.secret)]);
  }

  check(cookie: Uint8Array, ni: Uint8Array, from: Endpoint, spiI: bigint, now: number): boolean {
    this.#rotate(now);
    const s = this.#secrets.find((x) => x.version === cookie[0]);
    if (!s || cookie.length !== 33) return false;
    return timingSafeEqual(cookie.subarray(1), this.#hash(ni, from, spiI, s.secret));
  }

  #hash(ni: Uint8Array, from: Endpoint, spiI: bigint, secret: Uint8Array): Buffer {
    const spi = Buffer.alloc(8);
    spi.writeBigUInt64BE(spiI);
    return createHash('sha256').update(ni).update(from.address).update(spi).update(secret).digest();
  }

  #rotate(now: number): void {
    if (now - this.#rotatedAt < this.#options.secretLifetimeMs) return;
    const version = ((this.#secrets[0]?.version ?? 0) + 1) & 0xff;
    this.#secrets = [{ version, secret: this.#random(32) }, ...this.#secrets.slice(0, 1)];
    this.#rotatedAt = now;
  }
}
