/**
 * A small DER reader for what peers send us (CRLs, OCSP responses): every element's declared length
 * is checked against the bytes left before anything is read, and nothing here throws (X.690 §8.1:
 * identifier, length, contents). Only low tag numbers (< 31) and definite lengths of at most four
 * octets occur in X.509 and OCSP, so anything else is refused.
 */

/** One element: its tag octet, where its contents start and end, and where the whole element starts. */
export interface Tlv {
  readonly tag: number;
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

export const Tag = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  ENUMERATED: 0x0a, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31,
} as const;

/** Context-specific tag [n], constructed or primitive. */
export const ctx = (n: number, constructed = true): number => (constructed ? 0xa0 : 0x80) | n;

/** The element at `at`, inside [at, limit); undefined when it does not fit. */
export function readTlv(b: Uint8Array, at: number, limit: number = b.length): Tlv | undefined {
  if (at < 0 || limit > b.length || at + 2 > limit) return undefined;
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers: not in these structures
  const first = b[at + 1]!;
  let start = at + 2;
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n < 1 || n > 4 || start + n > limit) return undefined; // 0x80 is BER's indefinite length
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + b[start + i]!;
    start += n;
  }
  return start + length <= limit ? { tag, at, start, end: start + length } : undefined;
}

/** The children of a constructed element, which must fill it exactly. */
export function readChildren(b: Uint8Array, parent: Tlv): Tlv[] | undefined {
  if ((parent.tag & 0x20) === 0) return undefined;
  const out: Tlv[] = [];
  let at = parent.start;
  while (at < parent.end) {
    const child = readTlv(b, at, parent.end);
    if (!child || out.length >= 100_000) return undefined;
    out.push(child);
    at = child.end;
  }
  return out;
}

/** A whole buffer that is exactly one element with this tag. */
export function readWhole(b: Uint8Array, tag: number): Tlv | undefined {
  const t = readTlv(b, 0);
  return t && t.tag === tag && t.end === b.length ? t : undefined;
}

export const contents = (b: Uint8Array, t: Tlv): Uint8Array => b.subarray(t.start, t.end);
export const element = (b: Uint8Array, t: Tlv): Uint8Array => b.subarray(t.at, t.end);

/** Dotted text of an OBJECT IDENTIFIER's contents (X.690 §8.19), or undefined when malformed. */
export function oidText(b: Uint8Array, t: Tlv): string | undefined {
  if (t.tag !== Tag.OID || t.end === t.start || t.end - t.start > 64) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    const byte = b[i]!;
    if (value === 0 && byte === 0x80) return undefined; // not minimal
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 256) return undefined;
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    } else if (i === t.end - 1) return undefined; // the last octet continues
  }
  return arcs.join('.');
}

/**
 * An INTEGER used as a serial number, as lowercase hex without leading zeros ("0" for zero), the
 * form Postern compares serials in (node:crypto's serialNumber and the CA's registry normalized alike).
 */
export function serialHex(b: Uint8Array, t: Tlv): string | undefined {
  if (t.tag !== Tag.INTEGER || t.end === t.start || t.end - t.start > 64) return undefined;
  return normalSerial(Buffer.from(b.subarray(t.start, t.end)).toString('hex'));
}

export const normalSerial = (hex: string): string => hex.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');

/** A small non-negative INTEGER or ENUMERATED (versions, status codes, reasons). */
export function smallInt(b: Uint8Array, t: Tlv): number | undefined {
  if ((t.tag !== Tag.INTEGER && t.tag !== Tag.ENUMERATED) || t.end === t.start || t.end - t.start > 4) return undefined;
  if (b[t.start]! & 0x80) return undefined;
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + b[i]!;
  return v;
}

/**
 * RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ (years 50-99 are 19xx) or GeneralizedTime
 * YYYYMMDDHHMMSS[.fff]Z (RFC 6960 uses GeneralizedTime; some responders add fractions).
 */
export function readTime(b: Uint8Array, t: Tlv): Date | undefined {
  if (t.end - t.start > 32) return undefined;
  const text = Buffer.from(b.subarray(t.start, t.end)).toString('latin1');
  const m = t.tag === Tag.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
    : t.tag === Tag.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?Z$/.exec(text) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = t.tag === Tag.UTC_TIME ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A BIT STRING's bits when whole octets (signatures, keys): the unused-bits octet must be 0. */
export function bitStringBytes(b: Uint8Array, t: Tlv): Uint8Array | undefined {
  if (t.tag !== Tag.BIT_STRING || t.end === t.start || b[t.start] !== 0) return undefined;
  return b.subarray(t.start + 1, t.end);
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2). */
export function algorithmOid(b: Uint8Array, t: Tlv): string | undefined {
  if (t.tag !== Tag.SEQUENCE) return undefined;
  const parts = readChildren(b, t);
  return parts && parts.length >= 1 && parts.length <= 2 ? oidText(b, parts[0]!) : undefined;
}

/**
 * Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * (RFC 5280 §4.1). Returns each by OID, or undefined when malformed.
 */
export function readExtensions(b: Uint8Array, t: Tlv): Map<string, { critical: boolean; value: Tlv }> | undefined {
  const list = t.tag === Tag.SEQUENCE ? readChildren(b, t) : undefined;
  if (!list) return undefined;
  const out = new Map<string, { critical: boolean; value: Tlv }>();
  for (const ext of list) {
    const f = ext.tag === Tag.SEQUENCE ? readChildren(b, ext) : undefined;
    if (!f || f.length < 2 || f.length > 3) return undefined;
    const id = oidText(b, f[0]!);
    const value = f[f.length - 1]!;
    const critical = f.length === 3 ? f[1]!.tag === Tag.BOOLEAN && f[1]!.end - f[1]!.start === 1 && b[f[1]!.start] !== 0 : false;
    if (!id || value.tag !== Tag.OCTET_STRING || (f.length === 3 && f[1]!.tag !== Tag.BOOLEAN)) return undefined;
    if (out.has(id)) return undefined; // §4.2: at most one instance of an extension
    out.set(id, { critical, value });
  }
  return out;
}
