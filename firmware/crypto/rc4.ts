/**
 * RC4, needed only for MPPE (RFC 3078 §5) and its key changes (RFC 3078 §7.3). Node's OpenSSL 3
 * keeps RC4 in the legacy provider, which we do not load, so it lives here. RC4 is broken; it is
 * used for nothing but compatibility with PPTP-era clients.
 *
 * The state is kept between calls: MPPE's stateful mode (RFC 3078 §3.1) continues one keystream
 * across packets, and its stateless mode makes a new `Rc4` for every packet.
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  /** The key-scheduling algorithm; keys of 1 to 256 bytes. */
  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) throw new RangeError(`RC4 key must be 1 to 256 bytes, got ${key.length}`);
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i]!;
      j = (j + si + key[i % key.length]!) & 0xff;
      s[i] = s[j]!;
      s[j] = si;
    }
  }

  /** XORs `input` with the next keystream bytes into `output` (which may be `input` itself). */
  process(input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    if (output.length < input.length) throw new RangeError('RC4 output shorter than input');
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < input.length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      output[n] = input[n]! ^ s[(si + sj) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return output;
  }
}

/** One-shot RC4 of `data` under `key` (a fresh keystream). */
export function rc4(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Rc4(key).process(data);
}
