import forge from 'node-forge';

/**
 * Small DER building blocks over forge.asn1 (X.690). forge keeps bytes in "binary strings",
 * one char per byte; everything else in Postern uses Buffers, so the conversion lives here.
 */
export type Asn1 = forge.asn1.Asn1;

const { asn1 } = forge;
const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

export const toBinary = (bytes: Buffer): string => bytes.toString('latin1');
export const fromBinary = (binary: string): Buffer => Buffer.from(binary, 'latin1');

export const encodeDer = (node: Asn1): Buffer => fromBinary(asn1.toDer(node).getBytes());

/** Strict DER, every byte consumed; BIT STRINGs stay opaque so re-encoding gives the same bytes. */
export function decodeDer(der: Buffer): Asn1 {
  const fromDer = asn1.fromDer as unknown as (bytes: string, options: object) => Asn1;
  return fromDer(toBinary(der), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

export const sequence = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SET, true, items);
export const oid = (dotted: string): Asn1 => asn1.create(UNIVERSAL, T.OID, false, asn1.oidToDer(dotted).getBytes());
export const nullValue = (): Asn1 => asn1.create(UNIVERSAL, T.NULL, false, '');
/** X.690 §11.1: DER TRUE is 0xFF. */
export const boolean = (value: boolean): Asn1 => asn1.create(UNIVERSAL, T.BOOLEAN, false, value ? '\xff' : '\x00');
export const octetString = (bytes: Buffer): Asn1 => asn1.create(UNIVERSAL, T.OCTETSTRING, false, toBinary(bytes));
export const bitString = (bytes: Buffer, unusedBits = 0): Asn1 =>
  asn1.create(UNIVERSAL, T.BITSTRING, false, String.fromCharCode(unusedBits) + toBinary(bytes));
export const utf8String = (text: string): Asn1 => asn1.create(UNIVERSAL, T.UTF8, false, toBinary(Buffer.from(text, 'utf8')));
/** forge writes a BMPString value as one UTF-16 code unit per char. */
export const bmpString = (text: string): Asn1 => asn1.create(UNIVERSAL, T.BMPSTRING, false, text);
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(CONTEXT, tag, true, [inner]);
export const implicit = (tag: number, bytes: Buffer): Asn1 => asn1.create(CONTEXT, tag, false, toBinary(bytes));
/** An IMPLICIT tag on a constructed type (a SEQUENCE OF keeps its items under the new tag). */
export const implicitConstructed = (tag: number, items: Asn1[]): Asn1 => asn1.create(CONTEXT, tag, true, items);

/** A non-negative INTEGER in minimal two's complement form (X.690 §8.3.2). */
export function integer(value: bigint | Buffer): Asn1 {
  let bytes = typeof value === 'bigint' ? bigintBytes(value) : value;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.alloc(1);
  if (((bytes[0] as number) & 0x80) !== 0) bytes = Buffer.concat([Buffer.alloc(1), bytes]);
  return asn1.create(UNIVERSAL, T.INTEGER, false, toBinary(bytes));
}

function bigintBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative INTEGER');
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

/**
 * RFC 5280 §4.1.2.5 and §5.1.2.4: UTCTime for 1950-2049, GeneralizedTime otherwise,
 * always in Zulu time with seconds and no fraction.
 */
export function time(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return asn1.create(UNIVERSAL, T.UTCTIME, false, `${pad(year % 100)}${rest}`);
  return asn1.create(UNIVERSAL, T.GENERALIZEDTIME, false, `${String(year).padStart(4, '0')}${rest}`);
}

/** The children of a constructed node; a primitive one here is a broken structure. */
export function children(node: Asn1 | undefined): Asn1[] {
  if (node === undefined || !Array.isArray(node.value)) throw new TypeError('expected a constructed ASN.1 value');
  return node.value;
}

/** The content bytes of a primitive node. */
export function contentBytes(node: Asn1 | undefined): Buffer {
  if (node === undefined || typeof node.value !== 'string') throw new TypeError('expected a primitive ASN.1 value');
  return fromBinary(node.value);
}

export const isContextTag = (node: Asn1 | undefined, tag: number): boolean =>
  node !== undefined && node.tagClass === CONTEXT && node.type === tag;

export const oidText = (node: Asn1 | undefined): string => asn1.derToOid(toBinary(contentBytes(node)));

/** RFC 7468 textual encoding: base64 in 64-column lines. */
export function pemEncode(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The first block with this label, or undefined. */
export function pemDecode(label: string, pem: string): Buffer | undefined {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(pem);
  return match ? Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64') : undefined;
}
