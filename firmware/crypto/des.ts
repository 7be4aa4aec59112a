import { createCipheriv, getCiphers } from 'node:crypto';

/**
 * Single DES, one block, for MS-CHAP's ChallengeResponse (RFC 2759 §8.5, §8.6).
 * Node's OpenSSL 3 has plain DES only in the legacy provider, which we do not load. Triple DES
 * (EDE) with K1 = K2 = K3 is E_K(D_K(E_K(x))) = E_K(x), i.e. single DES, and `des-ede3-ecb`
 * is in the default provider.
 */
const CIPHER = 'des-ede3-ecb';

let available: boolean | undefined;

function requireCipher(): void {
  available ??= getCiphers().includes(CIPHER);
  if (!available) throw new Error(`${CIPHER} is not available from node:crypto; MS-CHAP needs it`);
}

function expectLength(name: string, value: Uint8Array, length: number): void {
  if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
}

/** Sets the low bit of `byte` so that it has an odd number of one bits (DES key parity). */
function withOddParity(byte: number): number {
  let ones = 0;
  for (let b = byte >> 1; b !== 0; b >>= 1) ones += b & 1;
  return (byte & 0xfe) | ((ones & 1) ^ 1);
}

/**
 * RFC 2759 §8.6: DES takes 64 key bits of which every 8th is parity; MS-CHAP keys are 56 bits.
 * Each output byte carries the next 7 key bits in its high bits and a parity bit in its low bit.
 */
export function expandDesKey(key7: Uint8Array): Buffer {
  expectLength('DES key', key7, 7);
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    const high = i > 0 ? key7[i - 1]! << (8 - i) : 0;
    const low = i < 7 ? key7[i]! >> i : 0;
    out[i] = withOddParity((high | low) & 0xfe);
  }
  return out;
}

/** DES-ECB of one 8-byte block under an 8-byte key (parity bits ignored, as DES does). */
export function desEncryptBlock(key8: Uint8Array, block8: Uint8Array): Buffer {
  expectLength('DES key', key8, 8);
  expectLength('DES block', block8, 8);
  requireCipher();
  const cipher = createCipheriv(CIPHER, Buffer.concat([key8, key8, key8]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block8), cipher.final()]);
}

/** RFC 2759 §8.6 DesEncrypt(): one block under a 7-byte key, expanded with parity bits. */
export function desEncryptBlock7(key7: Uint8Array, block8: Uint8Array): Buffer {
  return desEncryptBlock(expandDesKey(key7), block8);
}
