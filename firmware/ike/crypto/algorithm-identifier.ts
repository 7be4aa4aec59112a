/*
 * The AlgorithmIdentifier in front of an RFC 7427 signature (§3):
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
 * and RSASSA-PSS's parameters (RFC 4055 §3.1):
 *   RSASSA-PSS-params ::= SEQUENCE {
 *     hashAlgorithm    [0] HashAlgorithm    DEFAULT sha1,
 *     maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *     saltLength       [2] INTEGER          DEFAULT 20,
 *     trailerField     [3] INTEGER          DEFAULT 1 }
 * Only what IKE peers send is understood; anything else is named as unsupported, never as a bad signature.
 */

export type SignatureScheme =
  | { readonly kind: 'rsa-pkcs1'; readonly hash: string }
  | { readonly kind: 'rsa-pss'; readonly hash: string; readonly saltLength: number }
  | { readonly kind: 'ecdsa'; readonly hash: string }
  | { readonly kind: 'ed25519' };

export type ParsedAlgorithm = { readonly ok: true; readonly scheme: SignatureScheme } | { readonly ok: false; readonly name: string };

const OID = {
  sha1WithRSA: '2a864886f70d010105',
  sha256WithRSA: '2a864886f70d01010b',
  sha384WithRSA: '2a864886f70d01010c',
  sha512WithRSA: '2a864886f70d01010d',
  rsassaPss: '2a864886f70d01010a',
  mgf1: '2a864886f70d010108',
  sha1: '2b0e03021a',
  sha256: '608648016503040201',
  sha384: '608648016503040202',
  sha512: '608648016503040203',
  ecdsaSha1: '2a8648ce3d0401',
  ecdsaSha256: '2a8648ce3d040302',
  ecdsaSha384: '2a8648ce3d040303',
  ecdsaSha512: '2a8648ce3d040304',
  ed25519: '2b6570',
  ed448: '2b6571',
} as const;

const SIMPLE: Record<string, SignatureScheme> = {
  [OID.sha1WithRSA]: { kind: 'rsa-pkcs1', hash: 'sha1' },
  [OID.sha256WithRSA]: { kind: 'rsa-pkcs1', hash: 'sha256' },
  [OID.sha384WithRSA]: { kind: 'rsa-pkcs1', hash: 'sha384' },
  [OID.sha512WithRSA]: { kind: 'rsa-pkcs1', hash: 'sha512' },
  [OID.ecdsaSha1]: { kind: 'ecdsa', hash: 'sha1' },
  [OID.ecdsaSha256]: { kind: 'ecdsa', hash: 'sha256' },
  [OID.ecdsaSha384]: { kind: 'ecdsa', hash: 'sha384' },
  [OID.ecdsaSha512]: { kind: 'ecdsa', hash: 'sha512' },
  [OID.ed25519]: { kind: 'ed25519' },
};

const HASH_OIDS: Record<string, string> = { [OID.sha1]: 'sha1', [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };
const OID_OF_HASH: Record<string, string> = { sha1: OID.sha1, sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };
const KNOWN_NAMES: Record<string, string> = { [OID.ed448]: 'Ed448' };

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** One DER element at `at` inside `limit`; undefined when its length runs past it. */
function readTlv(b: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = b[at]!;
  let length = b[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 2 || start + n > limit) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | b[start + i]!;
    start += n;
  }
  return start + length <= limit ? { tag, start, end: start + length } : undefined;
}

const hex = (b: Uint8Array, t: Tlv) => Buffer.from(b.subarray(t.start, t.end)).toString('hex');

/** The hash named by a HashAlgorithm SEQUENCE { OID, NULL? }. */
function hashOf(b: Uint8Array, seq: Tlv | undefined): string | undefined {
  if (seq?.tag !== 0x30) return undefined;
  const oid = readTlv(b, seq.start, seq.end);
  return oid?.tag === 0x06 ? HASH_OIDS[hex(b, oid)] : undefined;
}

function smallInteger(b: Uint8Array, t: Tlv | undefined): number | undefined {
  if (t?.tag !== 0x02 || t.end - t.start < 1 || t.end - t.start > 2 || (b[t.start]! & 0x80)) return undefined;
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = (v << 8) | b[i]!;
  return v;
}

function pssParameters(b: Uint8Array, params: Tlv | undefined): ParsedAlgorithm {
  const unsupported = (why: string): ParsedAlgorithm => ({ ok: false, name: `RSASSA-PSS (${why})` });
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let saltLength = 20;
  if (params) {
    if (params.tag !== 0x30) return unsupported('parameters are not a SEQUENCE');
    for (let at = params.start; at < params.end;) {
      const field = readTlv(b, at, params.end);
      if (!field) return unsupported('malformed parameters');
      const inner = readTlv(b, field.start, field.end);
      if (field.tag === 0xa0) hash = hashOf(b, inner) ?? '';
      else if (field.tag === 0xa1) {
        const mgfOid = inner?.tag === 0x30 ? readTlv(b, inner.start, inner.end) : undefined;
        if (mgfOid?.tag !== 0x06 || hex(b, mgfOid) !== OID.mgf1) return unsupported('a mask generation other than MGF1');
        mgfHash = hashOf(b, readTlv(b, mgfOid.end, inner!.end)) ?? '';
      } else if (field.tag === 0xa2) saltLength = smallInteger(b, inner) ?? -1;
      else if (field.tag === 0xa3) {
        if (smallInteger(b, inner) !== 1) return unsupported('a trailer field other than 1');
      } else return unsupported(`unknown field ${field.tag.toString(16)}`);
      at = field.end;
    }
  }
  if (!hash) return unsupported('unknown hash');
  // OpenSSL's PSS takes MGF1 with the signature's own hash; other pairings are not offered by peers.
  if (mgfHash !== hash) return unsupported(`MGF1 with ${mgfHash || 'an unknown hash'} under ${hash}`);
  if (saltLength < 0) return unsupported('salt length');
  return { ok: true, scheme: { kind: 'rsa-pss', hash, saltLength } };
}

/** Reads the DER AlgorithmIdentifier; `ok: false` names an algorithm we do not implement. */
export function parseAlgorithmIdentifier(der: Uint8Array): ParsedAlgorithm {
  const seq = readTlv(der, 0, der.length);
  if (seq?.tag !== 0x30 || seq.end !== der.length) return { ok: false, name: 'a malformed AlgorithmIdentifier' };
  const oid = readTlv(der, seq.start, seq.end);
  if (oid?.tag !== 0x06) return { ok: false, name: 'a malformed AlgorithmIdentifier' };
  const id = hex(der, oid);
  if (id === OID.rsassaPss) return pssParameters(der, oid.end < seq.end ? readTlv(der, oid.end, seq.end) : undefined);
  const simple = SIMPLE[id];
  return simple ? { ok: true, scheme: simple } : { ok: false, name: KNOWN_NAMES[id] ?? `OID ${oidText(der.subarray(oid.start, oid.end))}` };
}

/** Dotted form of an OID's content octets, for log lines. */
export function oidText(body: Uint8Array): string {
  if (!body.length) return '';
  const parts = [Math.min(2, Math.floor(body[0]! / 40)), body[0]! - 40 * Math.min(2, Math.floor(body[0]! / 40))];
  let v = 0;
  for (const byte of body.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

const tlv = (tag: number, ...parts: Uint8Array[]): Buffer => {
  const body = Buffer.concat(parts);
  const length = body.length < 0x80 ? Buffer.of(body.length) : Buffer.of(0x81, body.length);
  return Buffer.concat([Buffer.of(tag), length, body]);
};
const oidOf = (h: string) => tlv(0x06, Buffer.from(h, 'hex'));
const hashAlgorithm = (hash: string) => tlv(0x30, oidOf(OID_OF_HASH[hash]!), Buffer.of(0x05, 0x00));

/** The DER AlgorithmIdentifier for a scheme we sign with. */
export function encodeAlgorithmIdentifier(scheme: SignatureScheme): Buffer {
  switch (scheme.kind) {
    case 'rsa-pkcs1': return tlv(0x30, oidOf({ sha1: OID.sha1WithRSA, sha256: OID.sha256WithRSA, sha384: OID.sha384WithRSA, sha512: OID.sha512WithRSA }[scheme.hash]!), Buffer.of(0x05, 0x00));
    case 'ecdsa': return tlv(0x30, oidOf({ sha1: OID.ecdsaSha1, sha256: OID.ecdsaSha256, sha384: OID.ecdsaSha384, sha512: OID.ecdsaSha512 }[scheme.hash]!));
    case 'ed25519': return tlv(0x30, oidOf(OID.ed25519));
    case 'rsa-pss': {
      const params = tlv(0x30,
        tlv(0xa0, hashAlgorithm(scheme.hash)),
        tlv(0xa1, tlv(0x30, oidOf(OID.mgf1), hashAlgorithm(scheme.hash))),
        tlv(0xa2, tlv(0x02, Buffer.of(scheme.saltLength))));
      return tlv(0x30, oidOf(OID.rsassaPss), params);
    }
  }
}
