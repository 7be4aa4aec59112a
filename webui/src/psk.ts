/** Pre-shared keys made in the browser (issue 20): the L2TP/IPsec group key's "Generate" button. */

/** Letters and digits without the look-alikes (I, O, l, 0, 1): read out or typed on a phone if need be. */
export const PSK_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/**
 * `length` characters of PSK_ALPHABET (32: about 186 bits). Bytes at or above the largest multiple
 * of the alphabet's size are dropped (rejection sampling), so every character is equally likely.
 */
export function generatePsk(length = 32, random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const out: string[] = [];
  const limit = 256 - (256 % PSK_ALPHABET.length);
  for (let round = 0; out.length < length; round++) {
    if (round > 1000) throw new Error('the random source gives no usable bytes');
    for (const byte of random(new Uint8Array(64))) {
      if (byte < limit && out.length < length) out.push(PSK_ALPHABET[byte % PSK_ALPHABET.length]!);
    }
  }
  return out.join('');
}
