/*
 * PPTP control messages out of a TCP byte stream (RFC 2637 §2: each message begins with its Length).
 * A Length below the header or above PPTP_MAX_MESSAGE_LENGTH, or a wrong Magic Cookie, means the
 * stream is out of step and cannot be resynchronised: fatal, the connection ends. A message that is
 * framed right but undecodable (unknown type, short body) is reported and the stream goes on.
 */
import type { DecodeError } from '../util/decoded.ts';
import { decodePptpMessage, PPTP_HEADER_LENGTH, PPTP_MAGIC_COOKIE, PPTP_MAX_MESSAGE_LENGTH, type PptpControlMessage } from './control-message.ts';

export type StreamItem = { readonly ok: true; readonly message: PptpControlMessage } | { readonly ok: false; readonly error: DecodeError; readonly fatal: boolean };

export class PptpControlStream {
  #buffer: Uint8Array = new Uint8Array(0);
  #broken = false;

  /** Bytes in; every whole message now available out, in order. Nothing more after a fatal item. */
  push(bytes: Uint8Array): StreamItem[] {
    if (this.#broken) return [];
    this.#buffer = this.#buffer.length === 0 ? bytes : concat(this.#buffer, bytes);
    const items: StreamItem[] = [];
    while (this.#buffer.length >= 8) {
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
      const length = view.getUint16(0);
      if (length < PPTP_HEADER_LENGTH || length > PPTP_MAX_MESSAGE_LENGTH || view.getUint32(4) !== PPTP_MAGIC_COOKIE) {
        this.#broken = true;
        this.#buffer = new Uint8Array(0);
        const why = view.getUint32(4) !== PPTP_MAGIC_COOKIE ? `bad Magic Cookie 0x${view.getUint32(4).toString(16)}` : `Length ${length} out of range`;
        items.push({ ok: false, error: { code: 'INVALID_SYNTAX', message: `PPTP stream out of step: ${why}`, offset: 0 }, fatal: true });
        break;
      }
      if (this.#buffer.length < length) break;
      const decoded = decodePptpMessage(this.#buffer.slice(0, length));
      this.#buffer = this.#buffer.subarray(length);
      items.push(decoded.ok ? { ok: true, message: decoded.value } : { ok: false, error: decoded.error, fatal: false });
    }
    return items;
  }

  /** Octets waiting for the rest of their message. */
  get pending(): number {
    return this.#buffer.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
