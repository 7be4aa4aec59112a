/**
 * MD4 (RFC 1320), needed only for the NT password hash of MS-CHAPv2 (RFC 2759 §8.3, §8.4).
 * Node's OpenSSL 3 keeps MD4 in the legacy provider, which we do not load, so it lives here.
 * MD4 is broken as a hash; never use it for anything but MS-CHAP compatibility.
 */

// §3.3: initial buffer A, B, C, D.
const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

// §3.4: the message word each of the 16 steps of a round reads, and the rotation it uses.
const ROUND_WORDS = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15],
  [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15],
] as const;
const ROUND_SHIFTS = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
] as const;
// Round 2 adds sqrt(2) and round 3 sqrt(3), as 32-bit constants (§3.4).
const ROUND_ADD = [0, 0x5a827999, 0x6ed9eba1] as const;

const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
const H = (x: number, y: number, z: number) => x ^ y ^ z;
const ROUND_FN = [F, G, H] as const;

const rotl = (x: number, s: number) => (x << s) | (x >>> (32 - s));

/** §3.1 and §3.2: append 0x80, zeros to 56 mod 64, then the bit length as 64 bits little-endian. */
function pad(data: Uint8Array): Buffer {
  const padded = Buffer.alloc((((data.length + 8) >> 6) + 1) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const bits = BigInt(data.length) * 8n;
  padded.writeBigUInt64LE(bits & 0xffffffffffffffffn, padded.length - 8);
  return padded;
}

/** §3.4: one 64-byte block folded into the state [A, B, C, D]. */
function processBlock(state: number[], block: Buffer, at: number): void {
  const x = new Array<number>(16);
  for (let i = 0; i < 16; i++) x[i] = block.readUInt32LE(at + 4 * i);
  const v = [...state];
  for (let round = 0; round < 3; round++) {
    const fn = ROUND_FN[round]!;
    for (let step = 0; step < 16; step++) {
      // The steps update A, D, C, B in turn; each mixes the other three in the order
      // [abcd], [dabc], [cdab], [bcda] of the RFC's listing.
      const t = (4 - (step & 3)) & 3;
      const mixed = fn(v[(t + 1) & 3]!, v[(t + 2) & 3]!, v[(t + 3) & 3]!);
      const sum = (v[t]! + mixed + x[ROUND_WORDS[round]![step]!]! + ROUND_ADD[round]!) | 0;
      v[t] = rotl(sum, ROUND_SHIFTS[round]![step & 3]!);
    }
  }
  for (let i = 0; i < 4; i++) state[i] = (state[i]! + v[i]!) | 0;
}

/** The 16-byte MD4 digest of `data` (§3.5: A, B, C, D, each little-endian). */
export function md4(data: Uint8Array): Buffer {
  const padded = pad(data);
  const state: number[] = [...INIT];
  for (let at = 0; at < padded.length; at += 64) processBlock(state, padded, at);
  const out = Buffer.alloc(16);
  state.forEach((word, i) => out.writeInt32LE(word, 4 * i));
  return out;
}
