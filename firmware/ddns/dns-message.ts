/*
 * The DNS message (RFC 1035 §4.1), as much of it as a dynamic update (RFC 2136) and its TSIG
 * signature (RFC 8945) need: the header, questions (the UPDATE's zone section) and resource records
 * with their RDATA as bytes. Sans-I/O: bytes in, a typed message out, and back.
 *
 *     0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                      ID                       |
 *   |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 *   |          QDCOUNT (UPDATE: ZOCOUNT)            |
 *   |          ANCOUNT (UPDATE: PRCOUNT)            |
 *   |          NSCOUNT (UPDATE: UPCOUNT)            |
 *   |                    ARCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * Names are written uncompressed (TSIG needs the canonical form anyway); a received message's
 * compression pointers (§4.1.4) are followed, each only backwards, so a loop cannot form.
 */

export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const DnsClass = { IN: 1, NONE: 254, ANY: 255 } as const;
export const Opcode = { QUERY: 0, UPDATE: 5 } as const;
/** RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 8945 §3 (the TSIG errors travel in the TSIG RR). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, BADSIG: 16, BADKEY: 17, BADTIME: 18 } as const;

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsRecord extends DnsQuestion {
  readonly ttl: number;
  readonly rdata: Buffer;
}

export interface DnsMessage {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const HEADER = 12;
const MAX_NAME = 255;

/** A name in wire form (RFC 1035 §3.1): length-prefixed labels, then the root's zero. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`DNS label '${label}' must be 1 to 63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.alloc(1));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME) throw new RangeError(`DNS name '${name}' is longer than 255 bytes`);
  return out;
}

/** RFC 4034 §6.2's canonical form, as TSIG digests names: lower case, uncompressed. */
export const canonicalName = (name: string): Buffer => encodeName(name.toLowerCase());

function encodeRecord(r: DnsRecord | DnsQuestion, question: boolean): Buffer {
  const name = encodeName(r.name);
  if (question) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(r.type, 0);
    tail.writeUInt16BE(r.class, 2);
    return Buffer.concat([name, tail]);
  }
  const rr = r as DnsRecord;
  if (rr.rdata.length > 0xffff) throw new RangeError('RDATA longer than 65535 bytes');
  const tail = Buffer.alloc(10);
  tail.writeUInt16BE(rr.type, 0);
  tail.writeUInt16BE(rr.class, 2);
  tail.writeUInt32BE(rr.ttl >>> 0, 4);
  tail.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([name, tail, rr.rdata]);
}

export function encodeHeader(m: DnsMessage, arcount = m.additionals.length): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(m.id & 0xffff, 0);
  h.writeUInt16BE((m.qr ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) | (m.aa ? 0x400 : 0) | (m.tc ? 0x200 : 0) | (m.rd ? 0x100 : 0) | (m.ra ? 0x80 : 0) | (m.rcode & 0xf), 2);
  h.writeUInt16BE(m.questions.length, 4);
  h.writeUInt16BE(m.answers.length, 6);
  h.writeUInt16BE(m.authorities.length, 8);
  h.writeUInt16BE(arcount, 10);
  return h;
}

export function encodeMessage(m: DnsMessage): Buffer {
  return Buffer.concat([
    encodeHeader(m),
    ...m.questions.map((q) => encodeRecord(q, true)),
    ...[...m.answers, ...m.authorities, ...m.additionals].map((r) => encodeRecord(r, false)),
  ]);
}

/** A name at `at`: the name, and where the bytes after it (in place, not after a pointer) start. */
export function decodeName(b: Buffer, at: number): Decoded<{ name: string; next: number }> {
  const labels: string[] = [];
  let pos = at;
  let next: number | undefined;
  let length = 1;
  for (let hops = 0; ; hops++) {
    if (pos >= b.length) return { ok: false, error: 'name runs past the message' };
    const len = b[pos]!;
    if (len === 0) {
      next ??= pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= b.length) return { ok: false, error: 'compression pointer cut short' };
      const target = ((len & 0x3f) << 8) | b[pos + 1]!;
      // Only backwards, and never to itself: every hop moves strictly earlier, so the walk ends.
      if (target >= pos || hops > 127) return { ok: false, error: 'compression pointer does not point backwards' };
      next ??= pos + 2;
      pos = target;
      continue;
    }
    if (len & 0xc0) return { ok: false, error: `reserved label type 0x${(len & 0xc0).toString(16)}` };
    if (pos + 1 + len > b.length) return { ok: false, error: 'label runs past the message' };
    length += len + 1;
    if (length > MAX_NAME) return { ok: false, error: 'name longer than 255 bytes' };
    labels.push(b.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { ok: true, value: { name: labels.length ? labels.join('.') : '.', next } };
}

function decodeSection(b: Buffer, at: number, count: number, question: boolean): Decoded<{ items: Array<DnsRecord | DnsQuestion>; next: number; starts: number[] }> {
  const items: Array<DnsRecord | DnsQuestion> = [];
  const starts: number[] = [];
  let pos = at;
  for (let i = 0; i < count; i++) {
    starts.push(pos);
    const name = decodeName(b, pos);
    if (!name.ok) return name;
    pos = name.value.next;
    const fixed = question ? 4 : 10;
    if (pos + fixed > b.length) return { ok: false, error: 'record header runs past the message' };
    const type = b.readUInt16BE(pos);
    const cls = b.readUInt16BE(pos + 2);
    if (question) {
      items.push({ name: name.value.name, type, class: cls });
      pos += 4;
      continue;
    }
    const ttl = b.readUInt32BE(pos + 4);
    const rdlength = b.readUInt16BE(pos + 8);
    pos += 10;
    if (pos + rdlength > b.length) return { ok: false, error: 'RDATA runs past the message' };
    items.push({ name: name.value.name, type, class: cls, ttl, rdata: Buffer.from(b.subarray(pos, pos + rdlength)) });
    pos += rdlength;
  }
  return { ok: true, value: { items, next: pos, starts } };
}

export interface DecodedMessage extends DnsMessage {
  /** Where the last additional record starts (TSIG is last: RFC 8945 §5.1), for checking its MAC. */
  readonly lastAdditionalAt: number | undefined;
}

/** Never throws: a short or malformed message is an error result. */
export function decodeMessage(input: Uint8Array): Decoded<DecodedMessage> {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (b.length < HEADER) return { ok: false, error: `message of ${b.length} bytes is shorter than the 12-byte header` };
  const flags = b.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => b.readUInt16BE(o)) as [number, number, number, number];
  const questions = decodeSection(b, HEADER, counts[0], true);
  if (!questions.ok) return questions;
  const answers = decodeSection(b, questions.value.next, counts[1], false);
  if (!answers.ok) return answers;
  const authorities = decodeSection(b, answers.value.next, counts[2], false);
  if (!authorities.ok) return authorities;
  const additionals = decodeSection(b, authorities.value.next, counts[3], false);
  if (!additionals.ok) return additionals;
  if (additionals.value.next !== b.length) return { ok: false, error: `${b.length - additionals.value.next} bytes after the last record` };
  return {
    ok: true,
    value: {
      id: b.readUInt16BE(0), qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, aa: (flags & 0x400) !== 0, tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0, ra: (flags & 0x80) !== 0, rcode: flags & 0xf,
      questions: questions.value.items as DnsQuestion[], answers: answers.value.items as DnsRecord[],
      authorities: authorities.value.items as DnsRecord[], additionals: additionals.value.items as DnsRecord[],
      lastAdditionalAt: additionals.value.starts.at(-1),
    },
  };
}
