import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type CipherGCM, type DecipherGCM } from 'node:crypto';
import type { CipherSuite } from './transforms.ts';

/**
 * The Encrypted payload's body (RFC 7296 §3.14): IV | ciphertext of (inner payloads | padding |
 * pad length) | ICV. With AES-CBC the ICV is an HMAC over the whole message up to it; with AEAD
 * (RFC 5282 §5, RFC 7634 §3) the nonce is salt | IV and the associated data is the message up to
 * the IV (IKE header and the Encrypted payload's header; for SKF its fragment numbers too).
 */
export interface SkKeys {
  readonly suite: CipherSuite;
  /** For AEAD suites, the key followed by the salt. */
  readonly encryption: Uint8Array;
  readonly integrity?: Uint8Array;
}

const icvLength = (s: CipherSuite) => (s.encr.aead ? s.encr.icvLength : (s.integ?.icvLength ?? 0));

function paddedLength(suite: CipherSuite, innerLength: number): number {
  const block = suite.encr.aead ? 1 : suite.encr.blockSize;
  return Math.ceil((innerLength + 1) / block) * block;
}

/** The body length for `innerLength` bytes of payloads, to write the lengths before sealing. */
export function skBodyLength(suite: CipherSuite, innerLength: number): number {
  return suite.encr.ivLength + paddedLength(suite, innerLength) + icvLength(suite);
}

function aeadCipher(keys: SkKeys, iv: Uint8Array, decrypt: boolean): CipherGCM | DecipherGCM {
  const { encr } = keys.suite;
  const key = keys.encryption.subarray(0, encr.keyLength);
  const nonce = Buffer.concat([keys.encryption.subarray(encr.keyLength), iv]);
  const options = { authTagLength: encr.icvLength };
  // node's typings pick the cipher type from the name literal; these names are all AEAD.
  return (decrypt ? createDecipheriv(encr.cipher as 'aes-128-gcm', key, nonce, options) : createCipheriv(encr.cipher as 'aes-128-gcm', key, nonce, options));
}

/** Encrypts `inner` behind `aad` (the message bytes before the IV, lengths already final). */
export function sealSkBody(keys: SkKeys, aad: Uint8Array, inner: Uint8Array, iv: Uint8Array): Uint8Array {
  const { suite } = keys;
  const plain = Buffer.alloc(paddedLength(suite, inner.length));
  plain.set(inner);
  plain[plain.length - 1] = plain.length - inner.length - 1;
  if (suite.encr.aead) {
    const c = aeadCipher(keys, iv, false) as CipherGCM;
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]);
  }
  const c = createCipheriv(suite.encr.cipher, keys.encryption, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const integ = suite.integ;
  if (!integ || !keys.integrity) throw new Error('a non-AEAD suite needs an integrity key');
  const icv = createHmac(integ.hash, keys.integrity).update(aad).update(iv).update(ct).digest().subarray(0, integ.icvLength);
  return Buffer.concat([iv, ct, icv]);
}

export type Opened = { readonly ok: true; readonly inner: Uint8Array } | { readonly ok: false; readonly reason: 'short' | 'integrity' | 'padding' };

/** Checks and decrypts the body that starts at `ivOffset` and runs to the end of `message`. */
export function openSkBody(keys: SkKeys, message: Uint8Array, ivOffset: number): Opened {
  const { suite } = keys;
  const icv = icvLength(suite);
  const ctStart = ivOffset + suite.encr.ivLength;
  const ctEnd = message.length - icv;
  if (ctEnd - ctStart < 1 || (!suite.encr.aead && (ctEnd - ctStart) % suite.encr.blockSize !== 0)) return { ok: false, reason: 'short' };
  const iv = message.subarray(ivOffset, ctStart);
  const ct = message.subarray(ctStart, ctEnd);
  let plain: Buffer;
  if (suite.encr.aead) {
    const d = aeadCipher(keys, iv, true) as DecipherGCM;
    d.setAAD(message.subarray(0, ivOffset));
    d.setAuthTag(message.subarray(ctEnd));
    try {
      plain = Buffer.concat([d.update(ct), d.final()]);
    } catch {
      return { ok: false, reason: 'integrity' };
    }
  } else {
    const integ = suite.integ;
    if (!integ || !keys.integrity) return { ok: false, reason: 'integrity' };
    const want = createHmac(integ.hash, keys.integrity).update(message.subarray(0, ctEnd)).digest().subarray(0, icv);
    if (!timingSafeEqual(want, message.subarray(ctEnd))) return { ok: false, reason: 'integrity' };
    const d = createDecipheriv(suite.encr.cipher, keys.encryption, iv).setAutoPadding(false);
    plain = Buffer.concat([d.update(ct), d.final()]);
  }
  const padLength = plain[plain.length - 1] as number;
  if (padLength + 1 > plain.length) return { ok: false, reason: 'padding' };
  return { ok: true, inner: plain.subarray(0, plain.length - padLength - 1) };
}
