// IKE_AUTH and later payload bodies: ID, AUTH, TS, CP, Delete, CERT/CERTREQ, EAP.
// Annotated byte vectors both ways, round trips of generated values, random bytes never throw.
import fc from 'fast-check';
import t from 'tap';
import { AuthMethod, decodeAuth, encodeAuth, type AuthPayload } from '../../../firmware/ike/payloads/auth.ts';
import { CertEncoding, decodeCert, decodeCertReq, encodeCert, encodeCertReq, type CertPayload, type CertReqPayload } from '../../../firmware/ike/payloads/certificate.ts';
import { ConfigAttribute, decodeConfig, encodeConfig, type ConfigPayload } from '../../../firmware/ike/payloads/config.ts';
import { decodeDelete, encodeDelete, type DeletePayload } from '../../../firmware/ike/payloads/delete.ts';
import { EapCode, EapType, decodeEap, encodeEap, type EapPacket } from '../../../firmware/auth/eap/eap-packet.ts';
import { IdType, decodeId, encodeId, idFromString, idToString, type IdPayload } from '../../../firmware/ike/payloads/identity.ts';
import type { Decoded } from '../../../firmware/util/decoded.ts';
import { decodeTs, encodeTs, tsFromPrefix, tsToString, type TrafficSelectorEntry } from '../../../firmware/ike/payloads/traffic-selector.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const from = (...parts: Array<number | string | Uint8Array>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
// Plain data for comparing: Buffers and Uint8Arrays alike become hex strings.
const norm = (v: unknown): unknown =>
  v instanceof Uint8Array ? hex(v) : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;
const value = <T>(r: Decoded<T>): T => {
  if (!r.ok) throw new Error(`decode failed: ${r.error.message} at ${r.error.offset}`);
  return r.value;
};
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

t.test('ID: hand-checked layouts', async (t) => {
  const fqdn = idFromString('vpn.example.com');
  t.equal(fqdn.type, IdType.ID_FQDN);
  t.equal(hex(encodeId(fqdn)), `02000000${hex(from('vpn.example.com'))}`, 'type 2, three reserved bytes, the name in ASCII');
  const v4 = idFromString('192.0.2.1');
  t.equal(hex(encodeId(v4)), '01000000c0000201', 'type 1, then the four address bytes');
  t.same(norm(value(decodeId(from(1, 0, 0, 0, 192, 0, 2, 1)))), { type: 1, data: 'c0000201' });
  t.equal(idToString(value(decodeId(from(2, 0, 0, 0, 'vpn.example.com')))), 'vpn.example.com');
});

t.test('ID: strings both ways', async (t) => {
  const cases: Array<[string, number, string]> = [
    ['192.0.2.1', IdType.ID_IPV4_ADDR, 'c0000201'],
    ['2001:db8::1', IdType.ID_IPV6_ADDR, '20010db8000000000000000000000001'],
    ['::', IdType.ID_IPV6_ADDR, '00'.repeat(16)],
    ['fe80::1:0:0:2', IdType.ID_IPV6_ADDR, 'fe800000000000000001000000000002'],
    ['2001:db8:0:1::', IdType.ID_IPV6_ADDR, '20010db8000000010000000000000000'],
    ['alice@example.com', IdType.ID_RFC822_ADDR, hex(from('alice@example.com'))],
    ['vpn.example.com', IdType.ID_FQDN, hex(from('vpn.example.com'))],
    ['keyid:branch-7', IdType.ID_KEY_ID, hex(from('branch-7'))],
  ];
  for (const [s, type, data] of cases) {
    const id = idFromString(s);
    t.same(norm(id), { type, data }, s);
    t.equal(idToString(id), s, `${s} back to text`);
  }
  t.equal(idToString({ type: IdType.ID_DER_ASN1_DN, data: from(0x30, 0x00) }), 'dn:3000');
  t.equal(hex(idFromString('::ffff:192.0.2.1').data), '00000000000000000000ffffc0000201', 'IPv4-mapped tail');
});

t.test('ID: malformed bodies', async (t) => {
  t.match(decodeId(from(2, 0, 0, 0)), { ok: false, error: { code: 'INVALID_SYNTAX' } }, 'no data');
  t.match(decodeId(from(1, 0, 0, 0, 192, 0, 2)), { ok: false }, 'three-byte IPv4');
  t.match(decodeId(from(5, 0, 0, 0, ...new Uint8Array(4))), { ok: false }, 'four-byte IPv6');
});

t.test('AUTH: layout and round trip', async (t) => {
  const auth: AuthPayload = { method: AuthMethod.SHARED_KEY_MIC, data: from(0xde, 0xad, 0xbe, 0xef) };
  t.equal(hex(encodeAuth(auth)), '02000000deadbeef');
  t.same(norm(value(decodeAuth(encodeAuth(auth)))), norm(auth));
  t.match(decodeAuth(from(14, 0, 0, 0)), { ok: false }, 'no authentication data');
});

t.test('TS: "10.1.0.0/16" byte for byte', async (t) => {
  const ts = tsFromPrefix('10.1.0.0/16');
  t.same(norm(ts), { type: 7, protocol: 0, startPort: 0, endPort: 65535, start: '0a010000', end: '0a01ffff' });
  const body = encodeTs([ts]);
  t.equal(body.length, 20);
  t.equal(hex(body), [
    '01000000', // one selector, reserved
    '07', '00', '0010', // TS_IPV4_ADDR_RANGE, any protocol, selector length 16
    '0000', 'ffff', // ports 0-65535
    '0a010000', '0a01ffff', // 10.1.0.0 - 10.1.255.255
  ].join(''));
  t.same(norm(value(decodeTs(body))), [norm(ts)]);
  t.equal(tsToString(ts), '10.1.0.0/16');
});

t.test('TS: prefixes, hosts, ranges and ports as text', async (t) => {
  t.equal(tsToString(tsFromPrefix('10.1.2.3/16')), '10.1.0.0/16', 'host bits cleared');
  t.equal(tsToString(tsFromPrefix('192.0.2.7')), '192.0.2.7/32', 'a bare host');
  t.equal(tsToString(tsFromPrefix('0.0.0.0/0')), '0.0.0.0/0');
  const v6 = tsFromPrefix('2001:db8:1::/48');
  t.equal(v6.type, 8);
  t.equal(hex(v6.end), '20010db80001ffffffffffffffffffff');
  t.equal(tsToString(v6), '2001:db8:1::/48');
  t.equal(encodeTs([v6]).length, 4 + 40);
  t.equal(tsToString(tsFromPrefix('2001:db8::5')), '2001:db8::5/128');
  t.equal(tsToString({ ...tsFromPrefix('10.0.0.0/8'), end: from(10, 0, 0, 9) }), '10.0.0.0-10.0.0.9', 'not a prefix');
  t.equal(tsToString(tsFromPrefix('10.0.0.0/8', 17)), '10.0.0.0/8[17]');
  t.equal(tsToString({ ...tsFromPrefix('10.0.0.0/8', 6), startPort: 443, endPort: 443 }), '10.0.0.0/8[6/443]');
  t.equal(tsToString({ ...tsFromPrefix('10.0.0.0/8', 17), startPort: 500, endPort: 4500 }), '10.0.0.0/8[17/500-4500]');
});

t.test('TS: malformed bodies', async (t) => {
  const good = encodeTs([tsFromPrefix('10.1.0.0/16')]);
  const unknown = good.slice();
  unknown[4] = 9;
  t.match(decodeTs(unknown), { ok: false, error: { offset: 4 } }, 'unknown TS type');
  const badLength = good.slice();
  badLength[7] = 40;
  t.match(decodeTs(badLength), { ok: false }, 'v4 selector claiming 40 bytes');
  const twoClaimed = good.slice();
  twoClaimed[0] = 2;
  t.match(decodeTs(twoClaimed), { ok: false }, 'count says two, one present');
  const noneClaimed = good.slice();
  noneClaimed[0] = 0;
  t.match(decodeTs(noneClaimed), { ok: false }, 'count says none, one present');
  t.match(decodeTs(from(...good, 0)), { ok: false, error: { offset: 20 } }, 'trailing byte');
  t.match(decodeTs(good.subarray(0, 19)), { ok: false }, 'truncated');
  t.match(decodeTs(from(1, 0, 0)), { ok: false }, 'no fixed part');
});

t.test('CP: hand-checked layouts', async (t) => {
  const request: ConfigPayload = { cfgType: 1, attributes: [{ type: ConfigAttribute.INTERNAL_IP4_ADDRESS, value: from() }, { type: ConfigAttribute.INTERNAL_IP4_DNS, value: from() }] };
  t.equal(hex(encodeConfig(request)), '01000000' + '00010000' + '00030000', 'CFG_REQUEST with two empty attributes');
  const reply = value(decodeConfig(from(2, 0, 0, 0, 0, 1, 0, 4, 192, 0, 2, 200, 0, 3, 0, 4, 192, 0, 2, 53)));
  t.same(norm(reply), { cfgType: 2, attributes: [{ type: 1, value: 'c00002c8' }, { type: 3, value: 'c0000235' }] });
  t.same(norm(value(decodeConfig(from(2, 0, 0, 0, 0x80, 13, 0, 0)))), { cfgType: 2, attributes: [{ type: 13, value: '' }] }, 'the reserved bit is ignored');
  t.match(decodeConfig(from(2, 0, 0, 0, 0, 1, 0, 4, 192, 0, 2)), { ok: false, error: { offset: 6 } }, 'value past the payload');
  t.match(decodeConfig(from(2, 0, 0, 0, 0, 1)), { ok: false }, 'half an attribute header');
});

t.test('Delete: hand-checked layouts', async (t) => {
  t.equal(hex(encodeDelete({ protocolId: 1, spis: [] })), '01000000', 'the IKE SA: no SPI');
  const esp: DeletePayload = { protocolId: 3, spis: [from(0xc1, 0, 0, 1), from(0xc1, 0, 0, 2)] };
  t.equal(hex(encodeDelete(esp)), '03040002' + 'c1000001' + 'c1000002');
  t.same(norm(value(decodeDelete(encodeDelete(esp)))), norm(esp));
  t.same(norm(value(decodeDelete(from(1, 0, 0, 0)))), { protocolId: 1, spis: [] });
  t.match(decodeDelete(from(3, 4, 0, 2, 0xc1, 0, 0, 1)), { ok: false }, 'two SPIs announced, one present');
  t.match(decodeDelete(from(3, 4, 0, 1, 0xc1, 0, 0, 1, 0)), { ok: false }, 'a stray byte');
  t.match(decodeDelete(from(3, 4, 0)), { ok: false }, 'no fixed part');
});

t.test('CERT and CERTREQ', async (t) => {
  const cert: CertPayload = { encoding: CertEncoding.X509_SIGNATURE, data: from(0x30, 0x82, 0x01, 0x00) };
  t.equal(hex(encodeCert(cert)), '0430820100');
  t.same(norm(value(decodeCert(encodeCert(cert)))), norm(cert));
  t.match(decodeCert(from(4)), { ok: false }, 'no certificate data');
  const a = new Uint8Array(20).fill(0xaa);
  const b = new Uint8Array(20).fill(0xbb);
  const req: CertReqPayload = { encoding: CertEncoding.X509_SIGNATURE, authorities: [a, b] };
  t.equal(hex(encodeCertReq(req)), `04${'aa'.repeat(20)}${'bb'.repeat(20)}`);
  t.same(norm(value(decodeCertReq(encodeCertReq(req)))), norm(req));
  t.same(norm(value(decodeCertReq(from(4)))), { encoding: 4, authorities: [] }, 'an empty CA list');
  t.match(decodeCertReq(from(4, ...a, 1)), { ok: false, error: { offset: 1 } }, '21 bytes of hashes');
  t.same(norm(value(decodeCertReq(from(12, 1, 2, 3)))), { encoding: 12, authorities: ['010203'] }, 'other encodings stay opaque');
  t.match(decodeCertReq(from()), { ok: false });
});

t.test('EAP', async (t) => {
  t.same(norm(value(decodeEap(from(3, 7, 0, 4)))), { code: 3, identifier: 7, data: '' }, 'Success');
  const identity: EapPacket = { code: EapCode.RESPONSE, identifier: 1, type: EapType.IDENTITY, data: from('alice') };
  t.equal(hex(encodeEap(identity)), `0201000a01${hex(from('alice'))}`, 'Response/Identity, length 10');
  t.same(norm(value(decodeEap(encodeEap(identity)))), norm(identity));
  t.equal(hex(encodeEap({ code: EapCode.FAILURE, identifier: 9, data: from() })), '04090004');
  t.match(decodeEap(from(3, 7, 0, 5, 0)), { ok: false }, 'Success with a body');
  t.match(decodeEap(from(2, 1, 0, 9, 1, 'alice')), { ok: false, error: { offset: 2 } }, 'length field disagrees');
  t.match(decodeEap(from(1, 1, 0, 4)), { ok: false }, 'Request without a type');
  t.match(decodeEap(from(5, 1, 0, 4)), { ok: false }, 'unknown code');
  t.throws(() => encodeEap({ code: EapCode.REQUEST, identifier: 1, data: from() }), RangeError);
});

// Generated values for the round trips.
const ipv6Id = bytes(16, 16).map((data) => ({ type: IdType.ID_IPV6_ADDR, data }));
const idArb: fc.Arbitrary<IdPayload> = fc.oneof(
  bytes(4, 4).map((data) => ({ type: IdType.ID_IPV4_ADDR, data })),
  ipv6Id,
  fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((x) => x !== 1 && x !== 5), data: bytes(1, 64) }),
);
const tsArb: fc.Arbitrary<TrafficSelectorEntry> = fc.oneof(
  fc.record({ type: fc.constant(7), size: fc.constant(4) }),
  fc.record({ type: fc.constant(8), size: fc.constant(16) }),
).chain(({ type, size }) => fc.record({
  type: fc.constant(type), protocol: fc.integer({ min: 0, max: 255 }),
  startPort: fc.integer({ min: 0, max: 65535 }), endPort: fc.integer({ min: 0, max: 65535 }),
  start: bytes(size, size), end: bytes(size, size),
}));
const cpArb: fc.Arbitrary<ConfigPayload> = fc.record({
  cfgType: fc.integer({ min: 1, max: 4 }),
  attributes: fc.array(fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), value: bytes(0, 20) }), { maxLength: 6 }),
});
const deleteArb: fc.Arbitrary<DeletePayload> = fc.oneof(
  fc.constant({ protocolId: 1, spis: [] as Uint8Array[] }),
  fc.record({ protocolId: fc.integer({ min: 2, max: 3 }), spis: fc.array(bytes(4, 4), { minLength: 1, maxLength: 10 }) }),
  fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({ protocolId: fc.integer({ min: 0, max: 255 }), spis: fc.array(bytes(n, n), { minLength: 1, maxLength: 5 }) })),
);
const certArb: fc.Arbitrary<CertPayload> = fc.record({ encoding: fc.integer({ min: 0, max: 255 }), data: bytes(1, 100) });
const certReqArb: fc.Arbitrary<CertReqPayload> = fc.oneof(
  fc.record({ encoding: fc.constant(4), authorities: fc.array(bytes(20, 20), { maxLength: 5 }) }),
  fc.record({ encoding: fc.integer({ min: 0, max: 255 }).filter((e) => e !== 4), authorities: fc.array(bytes(1, 40), { maxLength: 1 }) }),
);
const eapArb: fc.Arbitrary<EapPacket> = fc.oneof(
  fc.record({ code: fc.constantFrom(1 as const, 2 as const), identifier: fc.integer({ min: 0, max: 255 }), type: fc.integer({ min: 0, max: 255 }), data: bytes(0, 100) }),
  fc.record({ code: fc.constantFrom(3 as const, 4 as const), identifier: fc.integer({ min: 0, max: 255 }), data: bytes(0, 0) }),
);

// Each codec with what it carries; one table so no codec is left out of the properties.
const codecs: Array<{ name: string; arb: fc.Arbitrary<unknown>; encode: (v: never) => Uint8Array; decode: (b: Uint8Array) => Decoded<unknown> }> = [
  { name: 'ID', arb: idArb, encode: encodeId, decode: decodeId },
  { name: 'AUTH', arb: fc.record({ method: fc.integer({ min: 0, max: 255 }), data: bytes(1, 100) }), encode: encodeAuth, decode: decodeAuth },
  { name: 'TS', arb: fc.array(tsArb, { maxLength: 6 }), encode: encodeTs, decode: decodeTs },
  { name: 'CP', arb: cpArb, encode: encodeConfig, decode: decodeConfig },
  { name: 'Delete', arb: deleteArb, encode: encodeDelete, decode: decodeDelete },
  { name: 'CERT', arb: certArb, encode: encodeCert, decode: decodeCert },
  { name: 'CERTREQ', arb: certReqArb, encode: encodeCertReq, decode: decodeCertReq },
  { name: 'EAP', arb: eapArb, encode: encodeEap, decode: decodeEap },
];

t.test('property: generated values round-trip', async (t) => {
  for (const c of codecs) {
    fc.assert(fc.property(c.arb, (v) => {
      const encoded = (c.encode as (v: unknown) => Uint8Array)(v);
      const decoded = c.decode(encoded);
      return decoded.ok && JSON.stringify(norm(decoded.value)) === JSON.stringify(norm(v));
    }), { numRuns: 500 });
    t.pass(`${c.name}: 500 round trips`);
  }
});

t.test('property: random bytes give ok or fail, never a throw', async (t) => {
  for (const c of codecs) {
    let fails = 0;
    fc.assert(fc.property(bytes(0, 120), (input) => {
      const r = c.decode(input);
      if (!r.ok) fails++;
      return r.ok ? r.value !== undefined : typeof r.error.message === 'string' && r.error.code === 'INVALID_SYNTAX';
    }), { numRuns: 2000 });
    t.pass(`${c.name}: 2000 random inputs, ${fails} refused`);
  }
});

t.test('property: mutated valid bodies never throw, and what decodes re-encodes to a decodable body', async (t) => {
  for (const c of codecs) {
    fc.assert(fc.property(c.arb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(8), (v, edits, cut) => {
      const m = (c.encode as (v: unknown) => Uint8Array)(v).slice();
      for (const [i, x] of edits) m[i % m.length] = x;
      const r = c.decode(m.subarray(0, Math.max(0, m.length - cut)));
      return !r.ok || c.decode((c.encode as (v: unknown) => Uint8Array)(r.value)).ok;
    }), { numRuns: 500 });
    t.pass(`${c.name}: 500 mutations`);
  }
});

t.test('property: ID strings and TS prefixes round-trip as text', async (t) => {
  fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.emailAddress()), (s) => {
    const id = idFromString(s);
    return hex(idFromString(idToString(id)).data) === hex(id.data) && idFromString(idToString(id)).type === id.type;
  }), { numRuns: 1000 });
  fc.assert(fc.property(fc.oneof(bytes(4, 4), bytes(16, 16)), fc.nat(128), (address, n) => {
    const bits = n % (address.length * 8 + 1);
    const text = address.length === 4 ? [...address].join('.') : idToString({ type: IdType.ID_IPV6_ADDR, data: address });
    const ts = tsFromPrefix(`${text}/${bits}`);
    const back = tsToString(ts);
    return back.endsWith(`/${bits}`) && JSON.stringify(norm(tsFromPrefix(back))) === JSON.stringify(norm(ts));
  }), { numRuns: 1000 });
  t.pass('1000 identities and 1000 prefixes');
});

t.test('regressions found in review: Delete with SPI size 0, prefixes that are not prefixes', async (t) => {
  const { decodeDelete } = await import('../../../firmware/ike/payloads/delete.ts');
  const { tsFromPrefix } = await import('../../../firmware/ike/payloads/traffic-selector.ts');
  t.notOk(decodeDelete(Uint8Array.of(3, 0, 0xff, 0xff)).ok, '65,535 SPIs of size 0 refused');
  for (const bad of ['foo/8', '10.0.0.0/abc', '10.0.0.0/40', '300.1.1.1/8']) t.throws(() => tsFromPrefix(bad), RangeError, bad);
});
