import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for the IKE engines (SPIs, nonces, IVs) drawn from a slab filled by one call to the
 * CSPRNG. A call to `randomBytes` costs tens of microseconds here whatever its size, and one IKE
 * setup asks several times on each side (issue 23). Each answer is a slice no one else gets: a used
 * slab is never refilled, a new one is made, so a nonce kept by a half-open SA cannot change.
 * Small requests only come from the slab; larger ones get a fresh buffer of their own.
 */
export function pooledRandomBytes(slabSize = 4096): (length: number) => Buffer {
  let slab = Buffer.alloc(0);
  let at = 0;
  return (length) => {
    if (length > slabSize / 8) return randomFillSync(Buffer.allocUnsafeSlow(length));
    if (at + length > slab.length) {
      slab = randomFillSync(Buffer.allocUnsafeSlow(slabSize));
      at = 0;
    }
    const out = slab.subarray(at, at + length);
    at += length;
    return out;
  };
}
