import { createHash, type Hash, type KeyObject } from 'node:crypto';
import { decodePrefix, RefusalCode, type BoxIdentity, type BundleHeader, type Refusal } from './bundle-format.ts';

export type PushResult =
  /** Payload bytes to write to the slot (possibly none yet). */
  | { readonly ok: true; readonly payload: Buffer | undefined; readonly header: BundleHeader | undefined }
  | { readonly ok: false; readonly refusal: Refusal };

export type FinishResult = { readonly ok: true; readonly header: BundleHeader } | { readonly ok: false; readonly refusal: Refusal };

/**
 * Reads a bundle as it arrives (an upload, a download), sans I/O: bytes in, payload bytes out to be
 * written, a refusal as early as the bytes allow. The prefix is held (at most ~4 KB) until the
 * signature and the header are checked; no payload byte comes out before that. The payload is hashed
 * as it passes; only `finish()` says whether it is the one the header names. Once refused, it stays so.
 */
export class BundleReader {
  readonly #key: KeyObject;
  readonly #box: BoxIdentity;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #header: BundleHeader | undefined;
  #hash: Hash | undefined;
  #payloadSeen = 0;
  #refused: Refusal | undefined;

  constructor(trustedKey: KeyObject, box: BoxIdentity) {
    this.#key = trustedKey;
    this.#box = box;
  }

  get header(): BundleHeader | undefined {
    return this.#header;
  }

  get payloadBytesSeen(): number {
    return this.#payloadSeen;
  }

  push(chunk: Buffer): PushResult {
    if (this.#refused) return { ok: false, refusal: this.#refused };
    if (this.#header) return this.#payload(chunk);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const held = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [held];
    const prefix = decodePrefix(held, this.#key, this.#box);
    if (prefix.ok === 'more') return { ok: true, payload: undefined, header: undefined };
    if (prefix.ok === false) return this.#refuse(prefix.refusal);
    this.#header = prefix.header;
    this.#hash = createHash('sha256');
    this.#pending = [];
    this.#pendingBytes = 0;
    return this.#payload(held.subarray(prefix.prefixBytes));
  }

  /** The end of the input: complete, nothing after the payload, the hash the header names. */
  finish(): FinishResult {
    if (this.#refused) return { ok: false, refusal: this.#refused };
    const header = this.#header;
    if (!header || !this.#hash) return this.#refuse({ code: RefusalCode.truncated, message: `the bundle ends after ${this.#pendingBytes} bytes, inside its header` });
    if (this.#payloadSeen < header.payloadBytes) {
      return this.#refuse({ code: RefusalCode.truncated, message: `the bundle is truncated: ${this.#payloadSeen} of ${header.payloadBytes} executable bytes` });
    }
    const sha = this.#hash.digest('hex');
    if (sha !== header.payloadSha256) return this.#refuse({ code: RefusalCode.hashMismatch, message: 'the executable does not match the SHA-256 its signed header names' });
    return { ok: true, header };
  }

  #payload(chunk: Buffer): PushResult {
    const header = this.#header as BundleHeader;
    if (this.#payloadSeen + chunk.length > header.payloadBytes) {
      return this.#refuse({ code: RefusalCode.trailingBytes, message: `bytes after the ${header.payloadBytes}-byte executable the header names` });
    }
    this.#payloadSeen += chunk.length;
    this.#hash?.update(chunk);
    return { ok: true, payload: chunk.length > 0 ? chunk : undefined, header };
  }

  #refuse(refusal: Refusal): { ok: false; refusal: Refusal } {
    this.#refused = refusal;
    this.#pending = [];
    return { ok: false, refusal };
  }
}
