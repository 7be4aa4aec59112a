/*
 * TSIG (RFC 8945): a shared-key MAC over a DNS message, what a DNS server asks of a dynamic update.
 * HMAC-SHA256 only (§6: "hmac-sha256" MUST be implemented; HMAC-MD5 is deprecated).
 *
 * The TSIG record is the last additional record: NAME = the key's name, TYPE 250, CLASS ANY, TTL 0,
 *   RDATA = Algorithm Name | Time Signed (48 bits) | Fudge (16) | MAC Size (16) | MAC |
 *           Original ID (16) | Error (16) | Other Len (16) | Other Data
 * The MAC (§4.3.3) is over the message as it was without the TSIG record (its original ARCOUNT and
 * ID), then the "TSIG variables": NAME (canonical), CLASS, TTL, Algorithm Name (canonical), Time
 * Signed, Fudge, Error, Other Len, Other Data. A response's MAC is over the request's MAC (with its
 * length) first (§4.3.1), which ties the answer to the question.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../util/secret.ts';
import { canonicalName, decodeMessage, decodeName, DnsClass, DnsType, encodeMessage, Rcode, type Decoded, type DecodedMessage, type DnsMessage } from './dns-message.ts';

export interface TsigKey {
  /** The key's name, as the server knows it (BIND: `key "name" { … }`). */
  readonly name: string;
  readonly algorithm: 'hmac-sha256';
  readonly secret: Secret<Buffer>;
}

const ALGORITHM = 'hmac-sha256';
/** §10: 300 seconds is the recommended fudge. */
export const FUDGE = 300;

export interface TsigFields {
  readonly algorithm: string;
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly otherData: Buffer;
}

/** The TSIG variables of §4.3.3 (what is digested besides the message). */
function variables(keyName: string, f: Omit<TsigFields, 'mac' | 'originalId'>): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(DnsClass.ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(12);
  writeUint48(tail, 0, f.timeSigned);
  tail.writeUInt16BE(f.fudge, 6);
  tail.writeUInt16BE(f.error, 8);
  tail.writeUInt16BE(f.otherData.length, 10);
  return Buffer.concat([canonicalName(keyName), fixed, canonicalName(f.algorithm), tail, f.otherData]);
}

function writeUint48(b: Buffer, at: number, value: number): void {
  b.writeUInt16BE(Math.floor(value / 2 ** 32) & 0xffff, at);
  b.writeUInt32BE(value >>> 0, at + 2);
}

export function encodeTsigRdata(f: TsigFields): Buffer {
  const head = Buffer.alloc(10);
  writeUint48(head, 0, f.timeSigned);
  head.writeUInt16BE(f.fudge, 6);
  head.writeUInt16BE(f.mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(f.originalId, 0);
  tail.writeUInt16BE(f.error, 2);
  tail.writeUInt16BE(f.otherData.length, 4);
  return Buffer.concat([canonicalName(f.algorithm), head, f.mac, tail, f.otherData]);
}

export function decodeTsigRdata(rdata: Buffer): Decoded<TsigFields> {
  const name = decodeName(rdata, 0);
  if (!name.ok) return name;
  let at = name.value.next;
  if (at + 10 > rdata.length) return { ok: false, error: 'TSIG RDATA cut short' };
  const timeSigned = rdata.readUInt16BE(at) * 2 ** 32 + rdata.readUInt32BE(at + 2);
  const fudge = rdata.readUInt16BE(at + 6);
  const macSize = rdata.readUInt16BE(at + 8);
  at += 10;
  if (at + macSize + 6 > rdata.length) return { ok: false, error: 'TSIG MAC cut short' };
  const mac = Buffer.from(rdata.subarray(at, at + macSize));
  at += macSize;
  const originalId = rdata.readUInt16BE(at);
  const error = rdata.readUInt16BE(at + 2);
  const otherLen = rdata.readUInt16BE(at + 4);
  at += 6;
  if (at + otherLen !== rdata.length) return { ok: false, error: 'TSIG other data does not fill the RDATA' };
  return { ok: true, value: { algorithm: name.value.name.toLowerCase(), timeSigned, fudge, mac, originalId, error, otherData: Buffer.from(rdata.subarray(at)) } };
}

const hmac = (key: TsigKey, ...parts: Buffer[]): Buffer => {
  const h = createHmac('sha256', key.secret.reveal());
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The request signed: its wire form with the TSIG record appended, and the MAC (to check the answer). */
export function signRequest(message: DnsMessage, key: TsigKey, nowSeconds: number): { readonly wire: Buffer; readonly mac: Buffer } {
  const fields = { algorithm: ALGORITHM, timeSigned: Math.floor(nowSeconds), fudge: FUDGE, error: 0, otherData: Buffer.alloc(0) };
  const unsigned = encodeMessage(message);
  const mac = hmac(key, unsigned, variables(key.name, fields));
  const tsig = { name: key.name, type: DnsType.TSIG, class: DnsClass.ANY, ttl: 0, rdata: encodeTsigRdata({ ...fields, mac, originalId: message.id }) };
  return { wire: encodeMessage({ ...message, additionals: [...message.additionals, tsig] }), mac };
}

export type VerifiedResponse =
  | { readonly ok: true; readonly message: DecodedMessage }
  | { readonly ok: false; readonly error: string; readonly message?: DecodedMessage };

/**
 * A response checked against the request's MAC (§5.3): decoded, its last record a TSIG with our key
 * and algorithm, the MAC right, the time within the fudge. An unsigned error answer (the server
 * could not check our key: BADKEY, BADSIG) comes back as a failure naming the TSIG error.
 */
export function verifyResponse(wire: Uint8Array, key: TsigKey, requestMac: Buffer, nowSeconds: number): VerifiedResponse {
  const decoded = decodeMessage(wire);
  if (!decoded.ok) return { ok: false, error: `malformed answer: ${decoded.error}` };
  const message = decoded.value;
  const last = message.additionals.at(-1);
  if (!last || last.type !== DnsType.TSIG || message.lastAdditionalAt === undefined) return { ok: false, error: `unsigned answer (${rcodeName(message.rcode)})`, message };
  const fields = decodeTsigRdata(last.rdata);
  if (!fields.ok) return { ok: false, error: `malformed TSIG: ${fields.error}`, message };
  const f = fields.value;
  if (f.error !== 0) return { ok: false, error: `the server refused the signature: ${rcodeName(f.error)}`, message };
  if (last.name.toLowerCase() !== key.name.toLowerCase().replace(/\.$/, '') || f.algorithm !== ALGORITHM) return { ok: false, error: 'answer signed with another key', message };
  // The response as it was before the TSIG record: its bytes up to it, ARCOUNT one less, the original ID.
  const bytes = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
  const header = Buffer.from(bytes.subarray(0, 12)); // its own flags, Z/AD/CD bits included
  header.writeUInt16BE(f.originalId, 0);
  header.writeUInt16BE(message.additionals.length - 1, 10);
  const body = bytes.subarray(12, message.lastAdditionalAt);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(requestMac.length, 0);
  const expected = hmac(key, length, requestMac, header, body, variables(key.name, f));
  if (f.mac.length !== expected.length || !timingSafeEqual(f.mac, expected)) return { ok: false, error: 'the answer\'s TSIG MAC does not verify', message };
  if (Math.abs(nowSeconds - f.timeSigned) > f.fudge) return { ok: false, error: 'the answer\'s TSIG time is outside the fudge', message };
  return { ok: true, message };
}

const RCODE_NAMES = Object.fromEntries(Object.entries(Rcode).map(([k, v]) => [v, k])) as Record<number, string>;
export const rcodeName = (rcode: number): string => RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
