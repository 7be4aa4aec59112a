// ISAKMP codecs (RFC 2408 §3, RFC 2407 §4.5/§4.6, RFC 3947): annotated byte vectors both ways, then
// length checks named one by one.
import t from 'tap';
import { decodeIsakmpHeader, encodeIsakmpHeader } from '../../../firmware/ikev1/payloads/header.ts';
import { decodeIsakmpMessage, encodeIsakmpMessage, decodePayloads, encodePayloads, type Ikev1Payload } from '../../../firmware/ikev1/message.ts';
import { decodeAttributes, encodeAttributes, attributeNumber, numberAttribute } from '../../../firmware/ikev1/payloads/attributes.ts';
import { decodeIdentification, identificationFrom, identificationText, identificationSelector, encodeIdentification } from '../../../firmware/ikev1/payloads/identification.ts';
import { EncapsulationMode, ExchangeType, IdType, NotifyType, PayloadType, ProtocolId } from '../../../firmware/ikev1/registry.ts';

const hex = (s: string) => Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

// Main Mode message 1: one proposal (PROTO_ISAKMP, KEY_IKE) with AES-CBC-256, SHA, PSK, MODP 2048,
// 28800 seconds, then the RFC 3947 vendor ID.
const mainMode1 = hex(`
  0102030405060708 0000000000000000   # CKY-I, CKY-R (zero in message 1)
  01 10 02 00                         # next SA, version 1.0, exchange 2 (Main Mode), no flags
  00000000 0000006c                   # message ID 0, length 108
  0d 00 003c                          # SA: next VID, length 60
  00000001 00000001                   # DOI IPsec, SIT_IDENTITY_ONLY
  00 00 0030                          # Proposal: last, length 48
  01 01 00 01                         # proposal 1, PROTO_ISAKMP, no SPI, 1 transform
  00 00 0028                          # Transform: last, length 40
  01 01 0000                          # transform 1, KEY_IKE, RESERVED2
  8001 0007  800e 0100                # encryption AES-CBC, key length 256
  8002 0002  8003 0001                # hash SHA, auth pre-shared key
  8004 000e  800b 0001                # group 14, life type seconds
  000c 0004 00007080                  # life duration 28800, variable form
  00 00 0014                          # VID: last, length 20
  4a131c81070358455c5728f20e95452f    # MD5("RFC 3947")
`);

t.test('Main Mode message 1 decodes field by field and encodes back to the same bytes', async (t) => {
  const m = decodeIsakmpMessage(mainMode1);
  t.ok(m.ok);
  if (!m.ok || m.value.encrypted) return;
  const { header, payloads } = m.value;
  t.equal(header.initiatorCookie, 0x0102030405060708n);
  t.equal(header.responderCookie, 0n);
  t.equal(header.exchangeType, ExchangeType.IDENTITY_PROTECTION);
  t.equal(header.length, 108);
  t.same(payloads.map((p) => p.kind), ['SA', 'VID']);
  const sa = payloads[0]!;
  if (sa.kind !== 'SA') return;
  const tr = sa.sa.proposals[0]!.transforms[0]!;
  t.same(tr.attributes.map((a) => [a.type, attributeNumber(a)]), [[1, 7], [14, 256], [2, 2], [3, 1], [4, 14], [11, 1], [12, 28800]]);
  t.equal(Buffer.from(sa.body).length, 56, 'SAi_b is the body after the generic header');
  const encoded = encodeIsakmpMessage({ initiatorCookie: header.initiatorCookie, responderCookie: 0n, exchangeType: 2, messageId: 0 }, payloads);
  t.ok(same(encoded, mainMode1), 'encoder gives the same bytes');
});

// Quick Mode SA: ESP with a 4-byte SPI, AES-CBC, UDP-encapsulated tunnel (RFC 3947), HMAC-SHA, 128 bits.
const quickModeSa = hex(`
  00000001 00000001                   # DOI IPsec, SIT_IDENTITY_ONLY
  00 00 0028                          # Proposal: last, length 40
  01 03 04 01                         # proposal 1, PROTO_IPSEC_ESP, SPI size 4, 1 transform
  c1a2b3c4                            # SPI
  00 00 001c                          # Transform: last, length 28
  01 0c 0000                          # transform 1, ESP_AES
  8001 0001  8002 0e10                # SA life type seconds, 3600
  8004 0003  8005 0002                # encapsulation UDP-encapsulated tunnel, HMAC-SHA
  8006 0080                           # key length 128
`);

t.test('a Quick Mode ESP proposal with RFC 2407 §4.5 attributes, both ways', async (t) => {
  const chain = Buffer.concat([hex('00 00 0034'), quickModeSa]);
  const d = decodePayloads(PayloadType.SA, chain);
  t.ok(d.ok);
  if (!d.ok || d.value[0]?.kind !== 'SA') return;
  const p = d.value[0].sa.proposals[0]!;
  t.equal(p.protocolId, ProtocolId.IPSEC_ESP);
  t.equal(Buffer.from(p.spi).toString('hex'), 'c1a2b3c4');
  t.same(p.transforms[0]!.attributes.map((a) => attributeNumber(a)), [1, 3600, EncapsulationMode.UDP_ENCAPSULATED_TUNNEL, 2, 128]);
  const back = encodePayloads(d.value);
  t.equal(back.first, PayloadType.SA);
  t.ok(same(back.bytes, chain));
});

t.test('data attributes: basic and variable forms, and the draft encapsulation modes', async (t) => {
  const bytes = hex('8004 f003  8004 f004  0002 0003 015180');
  const a = decodeAttributes(bytes);
  t.ok(a.ok);
  if (!a.ok) return;
  t.same(a.value.map(attributeNumber), [EncapsulationMode.UDP_ENCAPSULATED_TUNNEL_DRAFT, EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT, 86400]);
  t.ok(same(encodeAttributes(a.value), bytes));
  t.same(numberAttribute(2, 86400), { type: 2, basic: false, value: hex('00015180') });
  t.same(numberAttribute(2, 3600), { type: 2, basic: true, value: 3600 });
  t.notOk(decodeAttributes(hex('0002 0005 0102')).ok, 'a variable attribute longer than what is left');
  t.notOk(decodeAttributes(hex('80')).ok, 'a cut attribute header');
});

t.test('identification payloads (RFC 2407 §4.6.2) by type, with protocol and port', async (t) => {
  const cases: Array<[string, string, number, string]> = [
    ['01 11 06a5 c0000201', '192.0.2.1', IdType.ID_IPV4_ADDR, 'IPv4 address, UDP 1701'],
    ['04 00 0000 0a010000 ffff0000', '10.1.0.0/16', IdType.ID_IPV4_ADDR_SUBNET, 'IPv4 subnet'],
    ['07 00 0000 0a000001 0a000009', '10.0.0.1-10.0.0.9', IdType.ID_IPV4_ADDR_RANGE, 'IPv4 range'],
    ['02 00 0000 76706e2e6578616d706c652e636f6d', 'vpn.example.com', IdType.ID_FQDN, 'FQDN'],
    ['03 00 0000 6140622e6378', 'a@b.cx', IdType.ID_USER_FQDN, 'user FQDN'],
    ['05 00 0000 20010db8000000000000000000000001', '2001:db8::1', IdType.ID_IPV6_ADDR, 'IPv6 address (RFC 5952 text)'],
    ['06 00 0000 20010db8000000000000000000000000 ffffffffffffffff0000000000000000', '2001:db8::/64', IdType.ID_IPV6_ADDR_SUBNET, 'IPv6 subnet'],
    ['09 00 0000 3011310f300d06035504030c06706f7374', 'dn:3011310f300d06035504030c06706f7374', IdType.ID_DER_ASN1_DN, 'DER DN (CN=post)'],
  ];
  for (const [bytes, text, type, what] of cases) {
    const d = decodeIdentification(hex(bytes));
    t.ok(d.ok, what);
    if (!d.ok) continue;
    t.equal(d.value.idType, type, what);
    t.equal(identificationText(d.value), text, what);
    t.ok(same(encodeIdentification(d.value), hex(bytes)), `${what} encodes back`);
  }
  const l2tp = decodeIdentification(hex('01 11 06a5 c0000201'));
  t.same(l2tp.ok && [l2tp.value.protocolId, l2tp.value.port], [17, 1701]);
  t.notOk(decodeIdentification(hex('01 00 0000 c00002')).ok, 'an IPv4 address of 3 bytes');
  t.notOk(decodeIdentification(hex('04 00 0000 0a010000')).ok, 'a subnet without its mask');
  t.notOk(decodeIdentification(hex('02 00 0000')).ok, 'an empty FQDN');
  t.same(identificationFrom('10.1.0.0/16'), { idType: IdType.ID_IPV4_ADDR_SUBNET, protocolId: 0, port: 0, data: hex('0a010000ffff0000') });
  t.equal(identificationFrom('192.0.2.1/32')?.idType, IdType.ID_IPV4_ADDR, 'a host prefix becomes an address');
  t.equal(identificationFrom('2001:db8::1')?.idType, IdType.ID_IPV6_ADDR);
  t.equal(identificationFrom('user@example.com')?.idType, IdType.ID_USER_FQDN);
  t.same(identificationFrom('dn:3011310f300d06035504030c06706f7374'), { idType: IdType.ID_DER_ASN1_DN, protocolId: 0, port: 0, data: hex('3011310f300d06035504030c06706f7374') }, 'a DN in IKEv2\'s spelling');
  t.equal(identificationFrom('300.1.1.1'), undefined, 'a malformed address');
  t.equal(identificationSelector(identificationFrom('192.0.2.1')!), '192.0.2.1/32');
  t.equal(identificationSelector(identificationFrom('10.1.0.0/16')!), '10.1.0.0/16');
});

t.test('notification, delete, certificate request, NAT-D and NAT-OA (both numberings)', async (t) => {
  const chain = hex(`
    0c 00 001c                          # N: next D, length 28
    00000001 01 10 000e                 # DOI IPsec, PROTO_ISAKMP, SPI size 16, NO-PROPOSAL-CHOSEN
    0102030405060708 1112131415161718   # SPI: the two cookies
    07 00 0014                          # D: next CR, length 20
    00000001 03 04 0002                 # DOI IPsec, ESP, SPI size 4, 2 SPIs
    c0000001 c0000002
    82 00 0005 04                       # CR: next NAT-D (draft 130), length 5, X.509 signature, any CA
    15 00 0018                          # NAT-D (draft): next NAT-OA (21), length 24
    000102030405060708090a0b0c0d0e0f10111213
    00 00 000c 01 00 0000 c0a80102      # NAT-OA: last, length 12, ID_IPV4_ADDR, 192.168.1.2
  `);
  const d = decodePayloads(PayloadType.N, chain);
  t.ok(d.ok, d.ok ? '' : d.error.message);
  if (!d.ok) return;
  t.same(d.value.map((p) => p.kind), ['N', 'D', 'CR', 'NAT-D', 'NAT-OA']);
  const [n, del, cr, natd, oa] = d.value;
  t.equal(n?.kind === 'N' && n.notification.type, NotifyType.NO_PROPOSAL_CHOSEN);
  t.same(del?.kind === 'D' && del.delete.spis.map((s) => Buffer.from(s).toString('hex')), ['c0000001', 'c0000002']);
  t.equal(cr?.kind === 'CR' && cr.request.certType, 4);
  t.equal(natd?.kind === 'NAT-D' && natd.draft, true);
  t.equal(oa?.kind === 'NAT-OA' && Buffer.from(oa.natOa.address).toString('hex'), 'c0a80102');
  t.ok(same(encodePayloads(d.value).bytes, chain));
  t.notOk(decodePayloads(PayloadType.D, hex('00 00 000d 00000001 03 04 0002 c0000001')).ok, 'a delete announcing 2 SPIs with 1 present');
  t.notOk(decodePayloads(PayloadType.N, hex('00 00 000c 00000001 01 10 0018')).ok, 'a notification whose SPI runs past the payload');
  t.notOk(decodePayloads(PayloadType.NAT_OA, hex('00 00 0009 01 00 0000 c0')).ok, 'a NAT-OA with a cut address');
});

t.test('the header: flags, version checks, length checks', async (t) => {
  const h = encodeIsakmpHeader({ initiatorCookie: 1n, responderCookie: 2n, nextPayload: 8, exchangeType: ExchangeType.QUICK_MODE, encryption: true, commit: true, messageId: 0xdeadbeef, length: 28 });
  t.equal(Buffer.from(h).toString('hex'), '0000000000000001' + '0000000000000002' + '08102003' + 'deadbeef' + '0000001c');
  const d = decodeIsakmpHeader(h);
  t.same(d.ok && [d.value.encryption, d.value.commit, d.value.authenticationOnly, d.value.messageId], [true, true, false, 0xdeadbeef]);
  const v2 = Buffer.from(h);
  v2[17] = 0x20;
  t.equal(!decodeIsakmpHeader(v2).ok && decodeIsakmpHeader(v2).ok === false ? 'refused' : 'accepted', 'refused', 'an IKEv2 header');
  const r = decodeIsakmpHeader(v2);
  t.equal(!r.ok && r.error.code, 'INVALID_MAJOR_VERSION');
  const long = Buffer.from(h);
  long.writeUInt32BE(29, 24);
  t.notOk(decodeIsakmpHeader(long).ok, 'a length past the datagram');
  t.notOk(decodeIsakmpHeader(h.subarray(0, 27)).ok, 'a cut header');
});

t.test('SA payload errors: transform counts, substructure types, DOI and situation', async (t) => {
  const sa = (body: string) => decodePayloads(PayloadType.SA, Buffer.concat([hex(`00 00 ${(4 + hex(body).length).toString(16).padStart(4, '0')}`), hex(body)]));
  const good = quickModeSa.toString('hex');
  t.ok(sa(good).ok);
  t.notOk(sa(good.replace('01030401', '01030402')).ok, 'two transforms announced, one present');
  t.notOk(sa(good.replace('00000028', '02000028')).ok, 'a proposal claiming a next proposal that is not there');
  t.notOk(sa(good.replace(/^00000001/, '00000002')).ok, 'DOI 2');
  t.notOk(sa(good.replace(/^(00000001)00000001/, '$100000002')).ok, 'SIT_SECRECY');
  t.notOk(sa(good.replace('0000001c', '0000001d')).ok, 'a transform longer than the proposal');
  t.notOk(decodePayloads(PayloadType.P, hex('00 00 0004')).ok, 'a proposal payload outside an SA');
});

t.test('an encrypted message keeps its ciphertext for the crypto layer', async (t) => {
  const head = encodeIsakmpHeader({ initiatorCookie: 1n, responderCookie: 2n, nextPayload: PayloadType.ID, exchangeType: 2, encryption: true, messageId: 0, length: 44 });
  const m = decodeIsakmpMessage(Buffer.concat([head, Buffer.alloc(16, 0xaa), Buffer.alloc(3)]));
  t.ok(m.ok && m.value.encrypted && m.value.ciphertext.length === 16, 'bytes past the header length are ignored');
  const payloads: Ikev1Payload[] = [{ kind: 'NONCE', data: new Uint8Array(16) }];
  t.equal(encodeIsakmpMessage({ initiatorCookie: 1n, responderCookie: 0n, exchangeType: 2, messageId: 0 }, payloads).length, 48);
});
