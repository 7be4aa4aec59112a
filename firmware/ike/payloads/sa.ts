/*
 * SA payload (RFC 7296 §3.3): proposals, each with transforms, each with attributes.
 *  Proposal substructure:                      Transform substructure:
 * | Last Substruc |   RESERVED    |  Length |  | Last Substruc |   RESERVED    |  Length |
 * | Proposal Num  |  Protocol ID  | SPI Size|# | Transform Type|   RESERVED    |  Transform ID |
 * |                        SPI (variable)   |  |                 Transform Attributes          |
 * |                        <Transforms>     |
 *  Attribute (TV form, AF=1): |1|  Attribute Type  |  Attribute Value (16 bits) |
 */
import { fail, ok, type Decoded } from './result.ts';

export interface Transform {
  readonly type: number;
  readonly id: number;
  /** The Key Length attribute in bits, when present. */
  readonly keyLength?: number;
}

export interface Proposal {
  readonly number: number;
  readonly protocolId: number;
  readonly spi: Uint8Array;
  readonly transforms: readonly Transform[];
}

const LAST = 0;
const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;
const KEY_LENGTH = 14;

function decodeTransform(b: Uint8Array, at: number, end: number): Decoded<{ transform: Transform; more: boolean; next: number }> {
  if (at + 8 > end) return fail('INVALID_SYNTAX', 'transform header past the proposal', at);
  const more = b[at] === MORE_TRANSFORMS;
  const length = ((b[at + 2] as number) << 8) | (b[at + 3] as number);
  if (length < 8 || at + length > end) return fail('INVALID_SYNTAX', `transform length ${length}`, at);
  let keyLength: number | undefined;
  for (let a = at + 8; a < at + length; ) {
    if (a + 4 > at + length) return fail('INVALID_SYNTAX', 'attribute past the transform', a);
    const format = ((b[a] as number) << 8) | (b[a + 1] as number);
    const value = ((b[a + 2] as number) << 8) | (b[a + 3] as number);
    if (!(format & 0x8000)) {
      // TLV attributes: none is defined for IKEv2; skip by their length.
      if (a + 4 + value > at + length) return fail('INVALID_SYNTAX', 'TLV attribute past the transform', a);
      a += 4 + value;
      continue;
    }
    if ((format & 0x7fff) === KEY_LENGTH) keyLength = value;
    a += 4;
  }
  const transform: Transform = { type: b[at + 4] as number, id: ((b[at + 6] as number) << 8) | (b[at + 7] as number), ...(keyLength === undefined ? {} : { keyLength }) };
  return ok({ transform, more, next: at + length });
}

function decodeProposal(b: Uint8Array, at: number): Decoded<{ proposal: Proposal; more: boolean; next: number }> {
  if (at + 8 > b.length) return fail('INVALID_SYNTAX', 'proposal header past the payload', at);
  const more = b[at] === MORE_PROPOSALS;
  const length = ((b[at + 2] as number) << 8) | (b[at + 3] as number);
  const spiSize = b[at + 6] as number;
  const count = b[at + 7] as number;
  const end = at + length;
  if (length < 8 + spiSize || end > b.length) return fail('INVALID_SYNTAX', `proposal length ${length}`, at);
  const transforms: Transform[] = [];
  let t = at + 8 + spiSize;
  for (let i = 0; i < count; i++) {
    const r = decodeTransform(b, t, end);
    if (!r.ok) return r;
    transforms.push(r.value.transform);
    t = r.value.next;
    if (!r.value.more !== (i === count - 1)) return fail('INVALID_SYNTAX', 'transform count and last-substructure marks disagree', t);
  }
  if (t !== end) return fail('INVALID_SYNTAX', 'bytes left after the transforms', t);
  return ok({ proposal: { number: b[at + 4] as number, protocolId: b[at + 5] as number, spi: b.slice(at + 8, at + 8 + spiSize), transforms }, more, next: end });
}

export function decodeSa(body: Uint8Array): Decoded<Proposal[]> {
  const proposals: Proposal[] = [];
  let at = 0;
  for (;;) {
    const r = decodeProposal(body, at);
    if (!r.ok) return r;
    proposals.push(r.value.proposal);
    at = r.value.next;
    if (!r.value.more) break;
  }
  if (at !== body.length) return fail('INVALID_SYNTAX', 'bytes left after the last proposal', at);
  return ok(proposals);
}

export function encodeSa(proposals: readonly Proposal[]): Uint8Array {
  const parts: number[] = [];
  proposals.forEach((p, pi) => {
    const transforms: number[] = [];
    p.transforms.forEach((t, ti) => {
      const attrs = t.keyLength === undefined ? [] : [0x80, KEY_LENGTH, t.keyLength >> 8, t.keyLength & 0xff];
      const length = 8 + attrs.length;
      transforms.push(ti === p.transforms.length - 1 ? LAST : MORE_TRANSFORMS, 0, length >> 8, length & 0xff, t.type, 0, t.id >> 8, t.id & 0xff, ...attrs);
    });
    const length = 8 + p.spi.length + transforms.length;
    parts.push(pi === proposals.length - 1 ? LAST : MORE_PROPOSALS, 0, length >> 8, length & 0xff, p.number, p.protocolId, p.spi.length, p.transforms.length, ...p.spi, ...transforms);
  });
  return Uint8Array.from(parts);
}
