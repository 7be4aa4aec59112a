import { createHmac } from 'node:crypto';
import type { PrfAlgorithm } from './transforms.ts';

/** RFC 7296 §2.13: prf(K, S) is HMAC here (AES-XCBC-PRF is not offered). */
export function prf(alg: PrfAlgorithm, key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac(alg.hash, key).update(data).digest();
}

/**
 * prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), concatenated until
 * `length` bytes. The counter is one octet, so at most 255 blocks.
 */
export function prfPlus(alg: PrfAlgorithm, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let total = 0;
  let previous: Uint8Array = new Uint8Array(0);
  const counter = new Uint8Array(1); // update() copies what it is given, so one counter byte serves every block
  for (let n = 1; total < length; n++) {
    if (n > 255) throw new RangeError(`prf+ asked for ${length} bytes, more than 255 blocks`);
    counter[0] = n;
    previous = createHmac(alg.hash, key).update(previous).update(seed).update(counter).digest();
    blocks.push(previous as Buffer);
    total += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}
