/*
 * Security Association payload (RFC 2408 §3.4) with the IPsec DOI's situation (RFC 2407 §4.6.1):
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !              Domain of Interpretation  (DOI)                  !
 * !                           Situation                           !
 * followed by Proposal payloads (§3.5):
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !  Proposal #   !  Protocol-Id  !    SPI Size   !# of Transforms!
 * !                        SPI (variable)                         !
 * each followed by its Transform payloads (§3.6):
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * !  Transform #  !  Transform-Id !           RESERVED2           !
 * ~                        SA Attributes                          ~
 * A Proposal's next payload is 2 (another proposal) or 0, a Transform's 3 or 0 (§3.5, §3.6).
 * Here the bodies are everything after the SA payload's generic header.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';
import { DOI_IPSEC, PayloadType, SIT_IDENTITY_ONLY } from '../registry.ts';
import { decodeAttributes, encodeAttributes, type DataAttribute } from './attributes.ts';

export interface IsakmpTransform {
  readonly number: number;
  readonly id: number;
  readonly attributes: readonly DataAttribute[];
}

export interface IsakmpProposal {
  readonly number: number;
  readonly protocolId: number;
  readonly spi: Uint8Array;
  readonly transforms: readonly IsakmpTransform[];
}

export interface SaPayload {
  readonly doi: number;
  readonly situation: number;
  readonly proposals: readonly IsakmpProposal[];
}

const GENERIC = 4;

/** One substructure's generic header: its next payload and length, checked against the bytes left. */
function substructure(bytes: Uint8Array, at: number, base: number, what: string, min: number): Decoded<{ next: number; length: number }> {
  if (bytes.length - at < min) return fail('INVALID_SYNTAX', `a ${what} needs ${min} bytes, ${bytes.length - at} left`, base + at);
  const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
  if (length < min || length > bytes.length - at) return fail('INVALID_SYNTAX', `${what} length ${length} with ${bytes.length - at} bytes left`, base + at + 2);
  return ok({ next: bytes[at] as number, length });
}

function decodeTransforms(bytes: Uint8Array, base: number, count: number): Decoded<IsakmpTransform[]> {
  const out: IsakmpTransform[] = [];
  let at = 0;
  for (;;) {
    const h = substructure(bytes, at, base, 'transform', 8);
    if (!h.ok) return h;
    const attributes = decodeAttributes(bytes.subarray(at + 8, at + h.value.length), base + at + 8);
    if (!attributes.ok) return attributes;
    out.push({ number: bytes[at + 4] as number, id: bytes[at + 5] as number, attributes: attributes.value });
    at += h.value.length;
    if (h.value.next === PayloadType.NONE) break;
    if (h.value.next !== PayloadType.T) return fail('INVALID_SYNTAX', `a transform followed by payload type ${h.value.next}`, base + at - h.value.length);
  }
  if (at !== bytes.length) return fail('INVALID_SYNTAX', `${bytes.length - at} bytes after the last transform`, base + at);
  if (out.length !== count) return fail('INVALID_SYNTAX', `the proposal announces ${count} transforms, ${out.length} present`, base);
  return ok(out);
}

function decodeProposals(bytes: Uint8Array, base: number): Decoded<IsakmpProposal[]> {
  const out: IsakmpProposal[] = [];
  let at = 0;
  for (;;) {
    const h = substructure(bytes, at, base, 'proposal', 8);
    if (!h.ok) return h;
    const spiSize = bytes[at + 6] as number;
    if (8 + spiSize >= h.value.length) return fail('INVALID_SYNTAX', `proposal of ${h.value.length} bytes cannot hold an SPI of ${spiSize} and a transform`, base + at + 6);
    const transforms = decodeTransforms(bytes.subarray(at + 8 + spiSize, at + h.value.length), base + at + 8 + spiSize, bytes[at + 7] as number);
    if (!transforms.ok) return transforms;
    out.push({ number: bytes[at + 4] as number, protocolId: bytes[at + 5] as number, spi: bytes.slice(at + 8, at + 8 + spiSize), transforms: transforms.value });
    at += h.value.length;
    if (h.value.next === PayloadType.NONE) break;
    if (h.value.next !== PayloadType.P) return fail('INVALID_SYNTAX', `a proposal followed by payload type ${h.value.next}`, base + at - h.value.length);
  }
  if (at !== bytes.length) return fail('INVALID_SYNTAX', `${bytes.length - at} bytes after the last proposal`, base + at);
  return ok(out);
}

/**
 * The SA payload's body. Only the IPsec DOI with SIT_IDENTITY_ONLY is understood: secrecy and
 * integrity situations carry labels this gateway has no use for (RFC 2407 §4.2), and their
 * extra fields would sit where the proposals start. The engine answers DOI-NOT-SUPPORTED or
 * SITUATION-NOT-SUPPORTED from the message.
 */
export function decodeSa(body: Uint8Array, base = 0): Decoded<SaPayload> {
  if (body.length < 8) return fail('INVALID_SYNTAX', `an SA payload needs DOI and situation, got ${body.length} bytes`, base);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const doi = v.getUint32(0);
  const situation = v.getUint32(4);
  if (doi !== DOI_IPSEC) return fail('INVALID_SYNTAX', `DOI ${doi} is not the IPsec DOI`, base);
  if (situation !== SIT_IDENTITY_ONLY) return fail('INVALID_SYNTAX', `situation ${situation} is not SIT_IDENTITY_ONLY`, base + 4);
  const proposals = decodeProposals(body.subarray(8), base + 8);
  if (!proposals.ok) return proposals;
  return ok({ doi, situation, proposals: proposals.value });
}

function withGeneric(next: number, body: Uint8Array): Buffer {
  const b = Buffer.alloc(GENERIC + body.length);
  b[0] = next;
  b.writeUInt16BE(b.length, 2);
  b.set(body, GENERIC);
  return b;
}

export function encodeSa(sa: SaPayload): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(sa.doi >>> 0, 0);
  head.writeUInt32BE(sa.situation >>> 0, 4);
  const proposals = sa.proposals.map((p, i) => {
    const transforms = p.transforms.map((t, j) => {
      const fixed = Buffer.from([t.number, t.id, 0, 0]);
      return withGeneric(j + 1 < p.transforms.length ? PayloadType.T : PayloadType.NONE, Buffer.concat([fixed, encodeAttributes(t.attributes)]));
    });
    const fixed = Buffer.from([p.number, p.protocolId, p.spi.length, p.transforms.length]);
    return withGeneric(i + 1 < sa.proposals.length ? PayloadType.P : PayloadType.NONE, Buffer.concat([fixed, p.spi, ...transforms]));
  });
  return Buffer.concat([head, ...proposals]);
}
