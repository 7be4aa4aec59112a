/**
 * RADIUS packets out of a TLS byte stream (RFC 6614 §2.5: packets are sent back to back, each
 * carrying its own Length). Pure: bytes in, whole packets out. A Length outside 20..4096 (RFC 2865
 * §3) cannot be resynchronised: the stream is broken and the connection must close.
 *
 *    0                   1                   2                   3
 *   |     Code      |  Identifier   |            Length             |
 */
export const RADIUS_MIN_LENGTH = 20;
export const RADIUS_MAX_LENGTH = 4096;

export type StreamResult = { readonly packets: Uint8Array[] } | { readonly broken: string };

export class RadsecStream {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): StreamResult {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const packets: Uint8Array[] = [];
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt16BE(2);
      if (length < RADIUS_MIN_LENGTH || length > RADIUS_MAX_LENGTH) return { broken: `a packet of length ${length} (20 to 4096 allowed)` };
      if (this.#buffer.length < length) break;
      packets.push(new Uint8Array(this.#buffer.subarray(0, length)));
      this.#buffer = this.#buffer.subarray(length);
    }
    return { packets };
  }
}
