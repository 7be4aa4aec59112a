/*
 * IKE fragmentation (RFC 7383). Each fragment is an IKE message whose only payload is the
 * Encrypted Fragment payload (SKF, type 53):
 * | Next Payload | C | RESERVED | Payload Length |
 * | Fragment Number (16)       | Total Fragments (16) |
 * | IV | encrypted piece of the inner payloads | padding | pad length | ICV |
 * Only fragment 1 names the first inner payload; each fragment is protected on its own, with the
 * IKE header and the whole SKF header as associated data (§2.5).
 */
import { openSkBody, sealSkBody, skBodyLength, type SkKeys } from './crypto/sk-cipher.ts';
import { decodePayloads, encodePayloads, type IkeMessage, type IkePayload } from './message.ts';
import { encodeIkeHeader, IKE_HEADER_LENGTH } from './payloads/header.ts';
import type { HeaderFields } from './protection.ts';
import { PayloadType } from './registry/numbers.ts';

const SKF_HEADER = 8;

/** The largest piece of plaintext whose fragment fits `maxMessageSize` bytes of UDP payload. */
function pieceSize(keys: SkKeys, maxMessageSize: number): number {
  let n = maxMessageSize - IKE_HEADER_LENGTH - SKF_HEADER;
  while (n > 0 && IKE_HEADER_LENGTH + SKF_HEADER + skBodyLength(keys.suite, n) > maxMessageSize) n--;
  return n;
}

/** Splits and protects a message into fragments of at most `maxMessageSize` bytes (§2.5). */
export function encodeFragments(header: HeaderFields, inner: readonly IkePayload[], keys: SkKeys, maxMessageSize: number, ivFor: (n: number) => Uint8Array): Uint8Array[] {
  const chain = encodePayloads(inner);
  const size = pieceSize(keys, maxMessageSize);
  if (size < 1) throw new RangeError(`no fragment fits in ${maxMessageSize} bytes`);
  const total = Math.max(1, Math.ceil(chain.bytes.length / size));
  if (total > 0xffff) throw new RangeError('more than 65,535 fragments');
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const piece = chain.bytes.subarray(i * size, (i + 1) * size);
    const bodyLength = skBodyLength(keys.suite, piece.length);
    const prefix = Buffer.alloc(IKE_HEADER_LENGTH + SKF_HEADER);
    prefix.set(encodeIkeHeader({ ...header, nextPayload: PayloadType.SKF, length: prefix.length + bodyLength }));
    prefix[IKE_HEADER_LENGTH] = i === 0 ? chain.first : 0;
    prefix.writeUInt16BE(SKF_HEADER + bodyLength, IKE_HEADER_LENGTH + 2);
    prefix.writeUInt16BE(i + 1, IKE_HEADER_LENGTH + 4);
    prefix.writeUInt16BE(total, IKE_HEADER_LENGTH + 6);
    out.push(Buffer.concat([prefix, sealSkBody(keys, prefix, piece, ivFor(keys.suite.encr.ivLength))]));
  }
  return out;
}

export type ReassemblyResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'complete'; readonly payloads: IkePayload[] }
  | { readonly status: 'rejected'; readonly reason: string };

/**
 * Collects the fragments of one message at a time (§2.6): each is checked and decrypted as it
 * arrives, so a forged fragment never displaces a real one; memory is bounded by `maxFragments`.
 */
export class FragmentReassembler {
  readonly #maxFragments: number;
  #messageId = -1;
  #total = 0;
  #first = 0;
  #pieces = new Map<number, Uint8Array>();

  constructor(maxFragments = 64) {
    this.#maxFragments = maxFragments;
  }

  add(bytes: Uint8Array, message: IkeMessage, keys: SkKeys): ReassemblyResult {
    const skf = message.payloads[0];
    if (message.payloads.length !== 1 || skf?.kind !== 'encrypted' || skf.type !== PayloadType.SKF || skf.body.length < 4) return { status: 'rejected', reason: 'not a single SKF payload' };
    const number = (skf.body[0]! << 8) | skf.body[1]!;
    const total = (skf.body[2]! << 8) | skf.body[3]!;
    if (number === 0 || total === 0 || number > total || total > this.#maxFragments) return { status: 'rejected', reason: `fragment ${number} of ${total}` };
    const id = message.header.messageId;
    const restart = id !== this.#messageId || total > this.#total; // §2.6: a larger total starts over
    if (!restart && total < this.#total) return { status: 'rejected', reason: 'fewer fragments than announced before' };
    if (!restart && this.#pieces.has(number)) return { status: 'incomplete' }; // a duplicate
    const whole = bytes.subarray(0, message.header.length);
    const opened = openSkBody(keys, whole, whole.length - skf.body.length + 4);
    // Checked before any state changes, so a forged fragment cannot discard the genuine set (§2.6, §5).
    if (!opened.ok) return { status: 'rejected', reason: `fragment ${number}: ${opened.reason}` };
    if (restart) this.#reset(id, total);
    if (number === 1) this.#first = skf.inner;
    this.#pieces.set(number, opened.inner);
    if (this.#pieces.size < this.#total) return { status: 'incomplete' };
    const chain = Buffer.concat([...this.#pieces.entries()].sort(([a], [b]) => a - b).map(([, p]) => p));
    const first = this.#first;
    this.#reset(-1, 0);
    const decoded = decodePayloads(chain, 0, first);
    return decoded.ok ? { status: 'complete', payloads: decoded.value } : { status: 'rejected', reason: decoded.error.message };
  }

  #reset(messageId: number, total: number): void {
    this.#messageId = messageId;
    this.#total = total;
    this.#first = 0;
    this.#pieces = new Map();
  }
}
