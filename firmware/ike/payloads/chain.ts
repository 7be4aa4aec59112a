/*
 * Generic payload header (RFC 7296 §3.2):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { fail, ok, type Decoded } from './result.ts';

export interface RawPayload {
  readonly type: number;
  readonly critical: boolean;
  /** The body after the 4-byte generic header. */
  readonly body: Uint8Array;
  /** Where the payload starts in the message (for error offsets). */
  readonly offset: number;
}

/**
 * Walks the payload chain from `first`. Validate, then interpret: only lengths and the chain are
 * checked here; each payload's own decoder reads its body. An unknown type is kept as raw, and the
 * caller decides (RFC 7296 §2.5: critical → UNSUPPORTED_CRITICAL_PAYLOAD, otherwise skip).
 */
export function decodeChain(bytes: Uint8Array, start: number, first: number): Decoded<RawPayload[]> {
  const payloads: RawPayload[] = [];
  let offset = start;
  let type = first;
  while (type !== 0) {
    if (offset + 4 > bytes.length) return fail('TRUNCATED', `payload ${type} header past the end`, offset);
    const next = bytes[offset] as number;
    const critical = ((bytes[offset + 1] as number) & 0x80) !== 0;
    const length = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
    if (length < 4 || offset + length > bytes.length) return fail('INVALID_SYNTAX', `payload ${type} declares ${length} bytes, ${bytes.length - offset} remain`, offset);
    payloads.push({ type, critical, body: bytes.subarray(offset + 4, offset + length), offset });
    offset += length;
    type = next;
    // SK and SKF end the clear chain: their Next Payload names the first payload inside (§3.14, RFC 7383).
    if (payloads.at(-1)?.type === 46 || payloads.at(-1)?.type === 53) break;
  }
  if (type === 0 && offset !== bytes.length) return fail('INVALID_SYNTAX', `${bytes.length - offset} bytes after the last payload`, offset);
  return ok(payloads);
}

/** Builds the chain: each body gets its generic header, linked to the next. */
export function encodeChain(payloads: ReadonlyArray<{ type: number; critical?: boolean; body: Uint8Array }>, lastNext = 0): Uint8Array {
  const total = payloads.reduce((n, p) => n + 4 + p.body.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  payloads.forEach((p, i) => {
    const length = 4 + p.body.length;
    out[offset] = payloads[i + 1]?.type ?? lastNext;
    out[offset + 1] = p.critical ? 0x80 : 0;
    out[offset + 2] = length >> 8;
    out[offset + 3] = length & 0xff;
    out.set(p.body, offset + 4);
    offset += length;
  });
  return out;
}
