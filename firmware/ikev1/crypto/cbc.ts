import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { encodeIsakmpHeader, ISAKMP_HEADER_LENGTH, type IsakmpHeaderFields } from '../payloads/header.ts';
import type { Phase1Cipher } from './algorithms.ts';

/**
 * IKEv1 message encryption (RFC 2409 Appendix B, RFC 2408 §3.1 E flag): everything after the
 * header is CBC-encrypted, padded with zero octets to the block size. IVs chain: phase 1 starts with
 * hash(g^xi | g^xr), and each message's last ciphertext block is the next message's IV. Quick Mode
 * and informational exchanges start from hash(last phase 1 CBC block | M-ID) and chain within
 * their own message ID.
 */

export interface CbcKey {
  readonly cipher: Phase1Cipher;
  readonly key: Uint8Array;
}

/** Appendix B: the phase 1 IV, hash(g^xi | g^xr) cut to the cipher's block. */
export function phase1Iv(hash: string, cipher: Phase1Cipher, gxi: Uint8Array, gxr: Uint8Array): Buffer {
  return createHash(hash).update(gxi).update(gxr).digest().subarray(0, cipher.blockSize);
}

/** Appendix B: a phase 2 or informational exchange's first IV, hash(last phase 1 block | M-ID). */
export function phase2Iv(hash: string, cipher: Phase1Cipher, lastPhase1Block: Uint8Array, messageId: number): Buffer {
  const mid = Buffer.alloc(4);
  mid.writeUInt32BE(messageId >>> 0);
  return createHash(hash).update(lastPhase1Block).update(mid).digest().subarray(0, cipher.blockSize);
}

export interface Sealed {
  readonly packet: Uint8Array;
  /** The last ciphertext block: the IV of the exchange's next message. */
  readonly nextIv: Uint8Array;
}

/** Encrypts `plain` (the payload chain) under a header whose E flag and length are set here. */
export function sealMessage(k: CbcKey, iv: Uint8Array, header: Omit<IsakmpHeaderFields, 'encryption' | 'length'>, plain: Uint8Array): Sealed {
  const block = k.cipher.blockSize;
  const padded = Buffer.alloc(Math.ceil(plain.length / block) * block || block);
  padded.set(plain);
  const c = createCipheriv(k.cipher.cipher, k.key, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(padded), c.final()]);
  const head = encodeIsakmpHeader({ ...header, encryption: true, length: ISAKMP_HEADER_LENGTH + ct.length });
  return { packet: Buffer.concat([head, ct]), nextIv: ct.subarray(ct.length - block) };
}

export type Unsealed = { readonly ok: true; readonly plain: Uint8Array; readonly nextIv: Uint8Array } | { readonly ok: false; readonly reason: string };

/**
 * Decrypts a ciphertext (the bytes after the header). The caller decides whether to keep
 * `nextIv`: only once the message is authenticated (its hash checked), so a forged packet cannot
 * desynchronise the chain.
 */
export function openMessage(k: CbcKey, iv: Uint8Array, ciphertext: Uint8Array): Unsealed {
  const block = k.cipher.blockSize;
  if (ciphertext.length === 0 || ciphertext.length % block !== 0) return { ok: false, reason: `${ciphertext.length} bytes of ciphertext are not whole ${block}-byte blocks` };
  const d = createDecipheriv(k.cipher.cipher, k.key, iv).setAutoPadding(false);
  const plain = Buffer.concat([d.update(ciphertext), d.final()]);
  return { ok: true, plain, nextIv: Buffer.from(ciphertext.subarray(ciphertext.length - block)) };
}
