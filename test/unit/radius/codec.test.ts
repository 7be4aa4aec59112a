// RADIUS codecs (RFC 2865 §3, §5, §5.2, §7; 2866 §3; 3579 §3; 2548 §2.3, §2.4): the RFC 2865 §7
// example packets both ways, User-Password hiding (long passwords too), the authenticators and
// Message-Authenticator computed independently here with node:crypto, the salted MPPE keys, the
// Microsoft attributes and EAP-Message fragmentation.
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { Attr, integerOf, ipv4Of, textOf } from '../../../firmware/radius/attributes.ts';
import { checkResponse, signRequest, signResponse } from '../../../firmware/radius/authenticators.ts';
import { eapMessageAttributes, reassembleEapMessage } from '../../../firmware/radius/eap-message.ts';
import { decodeMsChap2Response, msChap2Response, msChapChallenge, MsAttr, parseMsChapError, readMicrosoftReply, VENDOR_MICROSOFT } from '../../../firmware/radius/microsoft.ts';
import { Code, decodeRadiusPacket, encodeRadiusPacket } from '../../../firmware/radius/packet.ts';
import { decryptSaltedKey, encryptSaltedKey } from '../../../firmware/radius/salted-key.ts';
import { hideUserPassword, unhideUserPassword } from '../../../firmware/radius/user-password.ts';
import { decodeVendorSpecific, encodeVendorAttribute } from '../../../firmware/radius/vendor-specific.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const hex = (s: string) => Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const md5 = (...parts: Uint8Array[]) => { const h = createHash('md5'); for (const p of parts) h.update(p); return h.digest(); };
const secretOf = (s: string) => new Secret<Uint8Array>(Buffer.from(s));

// RFC 2865 §7.1: nemo/arctangent from NAS 192.168.1.16 port 3, shared secret "xyzzy5461".
const rfc71Request = hex(`
  01 00 0038 0f403f9473978057bd83d5cb98f4227a   # Access-Request, id 0, length 56, Request Authenticator
  01 06 6e656d6f                                # User-Name "nemo"
  02 12 0dbe708d93d413ce3196e43f782a0aee        # User-Password, hidden
  04 06 c0a80110                                # NAS-IP-Address 192.168.1.16
  05 06 00000003                                # NAS-Port 3
`);
const rfc71Accept = hex(`
  02 00 0026 86fe220e7624ba2a1005f6bf9b55e0b2   # Access-Accept, id 0, length 38, Response Authenticator
  06 06 00000001                                # Service-Type Login
  0f 06 00000000                                # Login-Service Telnet
  0e 06 c0a80103                                # Login-IP-Host 192.168.1.3
`);
// §7.2: flopsy with CHAP, Framed PPP; §7.3: an Access-Challenge with Reply-Message and State.
const rfc72Request = hex(`
  01 01 0047 2aee86f08d0d55969ca5978e0d3367a2
  01 08 666c6f707379                            # User-Name "flopsy"
  03 13 16e97557c316185895f293ff63440772 75     # CHAP-Password: CHAP ID 22, response
  04 06 c0a80110  05 06 00000014                # NAS-IP-Address, NAS-Port 20
  06 06 00000002  07 06 00000001                # Service-Type Framed, Framed-Protocol PPP
`);
const rfc73Challenge = hex(`
  0b 02 004e 36f3c8764ae8c71157403c0c71ff9c45
  12 30 4368616c6c656e67652033323736393433302e2020456e74657220726573706f6e73652061742070726f6d70742e
  18 0a 3332373639343330                        # State "32769430"
`);
const rfc2865Secret = secretOf('xyzzy5461');

t.test('RFC 2865 §7.1: the Access-Request decodes, re-encodes, and its password unhides to "arctangent"', async (t) => {
  const d = decodeRadiusPacket(rfc71Request);
  if (!d.ok) return t.fail(d.error.message);
  const p = d.value;
  t.equal(p.code, Code.AccessRequest);
  t.equal(textOf(p.attributes, Attr.UserName), 'nemo');
  t.equal(ipv4Of(p.attributes, Attr.NasIpAddress), '192.168.1.16');
  t.equal(integerOf(p.attributes, Attr.NasPort), 3);
  t.ok(same(encodeRadiusPacket(p), rfc71Request));
  const hidden = p.attributes.find((a) => a.type === Attr.UserPassword)!.value;
  const plain = unhideUserPassword(hidden, rfc2865Secret, p.authenticator);
  t.ok(plain.ok && Buffer.from(plain.value).toString() === 'arctangent');
  t.ok(same(hideUserPassword(new Secret(Buffer.from('arctangent')), rfc2865Secret, p.authenticator), hidden), 'hiding gives the RFC bytes');
});

t.test('RFC 2865 §7.1: the Access-Accept\'s Response Authenticator checks against the request', async (t) => {
  const requestAuth = rfc71Request.subarray(4, 20);
  t.equal(checkResponse(rfc71Accept, requestAuth, rfc2865Secret, false), 'ok');
  t.equal(checkResponse(rfc71Accept, requestAuth, rfc2865Secret), 'missing-message-authenticator', 'Blast-RADIUS: an Access-Accept without Message-Authenticator is refused by default');
  t.equal(checkResponse(rfc71Accept, requestAuth, secretOf('wrong'), false), 'bad-response-authenticator');
  const tampered = Buffer.from(rfc71Accept);
  tampered[37] = tampered[37]! ^ 1;
  t.equal(checkResponse(tampered, requestAuth, rfc2865Secret, false), 'bad-response-authenticator');
});

t.test('RFC 2865 §7.2 and §7.3 decode and re-encode', async (t) => {
  const chap = decodeRadiusPacket(rfc72Request);
  if (!chap.ok) return t.fail(chap.error.message);
  t.equal(chap.value.identifier, 1);
  t.equal(textOf(chap.value.attributes, Attr.UserName), 'flopsy');
  t.equal(chap.value.attributes.find((a) => a.type === Attr.ChapPassword)!.value[0], 22);
  t.equal(integerOf(chap.value.attributes, Attr.FramedProtocol), 1);
  t.ok(same(encodeRadiusPacket(chap.value), rfc72Request));
  const ch = decodeRadiusPacket(rfc73Challenge);
  if (!ch.ok) return t.fail(ch.error.message);
  t.equal(ch.value.code, Code.AccessChallenge);
  t.equal(textOf(ch.value.attributes, Attr.ReplyMessage), 'Challenge 32769430.  Enter response at prompt.');
  t.equal(textOf(ch.value.attributes, Attr.State), '32769430');
  t.ok(same(encodeRadiusPacket(ch.value), rfc73Challenge));
});

t.test('decoder: short, over-long, truncated, padded', async (t) => {
  t.match(decodeRadiusPacket(rfc71Request.subarray(0, 19)), { ok: false, error: { code: 'TRUNCATED' } });
  t.match(decodeRadiusPacket(rfc71Request.subarray(0, 55)), { ok: false, error: { code: 'TRUNCATED', offset: 2 } });
  const bad = Buffer.from(rfc71Request);
  bad[21] = 1;
  t.match(decodeRadiusPacket(bad), { ok: false, error: { code: 'INVALID_SYNTAX', offset: 20 } });
  bad.writeUInt16BE(4097, 2);
  t.match(decodeRadiusPacket(bad), { ok: false, error: { code: 'INVALID_SYNTAX' } });
  const padded = Buffer.concat([rfc71Request, Buffer.from([9, 9, 9])]);
  const d = decodeRadiusPacket(padded);
  t.ok(d.ok && d.value.attributes.length === 4, 'octets past Length are padding (§3)');
  t.throws(() => encodeRadiusPacket({ code: 1, identifier: 0, authenticator: new Uint8Array(16), attributes: [{ type: 1, value: new Uint8Array(254) }] }));
});

t.test('User-Password: long passwords chain over blocks; 128 bytes at most', async (t) => {
  const ra = Buffer.alloc(16, 7);
  const s = secretOf('s3cret');
  for (const n of [1, 15, 16, 17, 40, 128]) {
    const pw = Buffer.alloc(n, 0x61 + (n % 26));
    const hidden = hideUserPassword(new Secret(pw), s, ra);
    t.equal(hidden.length, Math.max(16, Math.ceil(n / 16) * 16));
    const back = unhideUserPassword(hidden, s, ra);
    t.ok(back.ok && same(back.value, pw), `${n} bytes round trip`);
    if (n === 40) {
      // Second block independently: b2 = MD5(S + c1).
      const b2 = md5(Buffer.from('s3cret'), hidden.subarray(0, 16));
      const p2 = Buffer.from(hidden.subarray(16, 32)).map((x, i) => x ^ b2[i]!);
      t.ok(same(p2, pw.subarray(16, 32)), 'block 2 keyed by block 1\'s cipher text');
    }
  }
  t.throws(() => hideUserPassword(new Secret(Buffer.alloc(129)), s, ra));
  t.match(unhideUserPassword(new Uint8Array(20), s, ra), { ok: false });
});

t.test('Access-Request: Message-Authenticator first, HMAC-MD5 over the packet with it zeroed', async (t) => {
  const ra = Buffer.alloc(16, 0x42);
  const s = secretOf('testing123');
  const bytes = signRequest({ code: Code.AccessRequest, identifier: 9, attributes: [{ type: Attr.UserName, value: Buffer.from('bob') }] }, s, ra);
  t.equal(bytes[20], Attr.MessageAuthenticator);
  t.equal(bytes[21], 18);
  t.ok(same(bytes.subarray(4, 20), ra));
  const zeroed = Buffer.from(bytes);
  zeroed.fill(0, 22, 38);
  t.ok(same(bytes.subarray(22, 38), createHmac('md5', 'testing123').update(zeroed).digest()));
});

t.test('Accounting-Request: Request Authenticator = MD5(packet with zero authenticator + secret), Message-Authenticator under the zero field', async (t) => {
  const s = secretOf('testing123');
  const bytes = signRequest({ code: Code.AccountingRequest, identifier: 3, attributes: [{ type: Attr.AcctStatusType, value: Uint8Array.of(0, 0, 0, 1) }] }, s, new Uint8Array(16));
  const zeroAuth = Buffer.from(bytes);
  zeroAuth.fill(0, 4, 20);
  t.ok(same(bytes.subarray(4, 20), md5(zeroAuth, Buffer.from('testing123'))));
  const zeroBoth = Buffer.from(zeroAuth);
  zeroBoth.fill(0, 22, 38);
  t.ok(same(bytes.subarray(22, 38), createHmac('md5', 'testing123').update(zeroBoth).digest()));
});

t.test('responses: signed ones check; a bad Message-Authenticator under a good Response Authenticator is refused', async (t) => {
  const ra = Buffer.alloc(16, 1);
  const s = secretOf('k');
  const accept = signResponse(Code.AccessAccept, 4, [{ type: Attr.ReplyMessage, value: Buffer.from('hi') }], ra, s);
  t.equal(checkResponse(accept, ra, s), 'ok');
  t.equal(checkResponse(accept, Buffer.alloc(16, 2), s), 'bad-response-authenticator', 'a response to another request');
  const forged = Buffer.from(accept);
  forged[30] = forged[30]! ^ 0xff;
  forged.set(md5(forged.subarray(0, 4), ra, forged.subarray(20), Buffer.from('k')), 4);
  t.equal(checkResponse(forged, ra, s), 'bad-message-authenticator');
  const acctResponse = signResponse(Code.AccountingResponse, 4, [], ra, s, false);
  t.equal(checkResponse(acctResponse, ra, s), 'ok', 'Message-Authenticator is optional on Accounting-Response');
});

t.test('MS-MPPE keys: salted encryption round trips; the salt\'s high bit and the Key-Length are checked', async (t) => {
  const ra = Buffer.alloc(16, 9);
  const s = secretOf('mppe');
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const enc = encryptSaltedKey(key, 0x1234, s, ra);
  t.equal(enc.length, 2 + 32, '1 + 16 bytes pad to two blocks');
  t.equal(enc[0]! & 0x80, 0x80);
  // First block independently: b(1) = MD5(S + R + A).
  const b1 = md5(Buffer.from('mppe'), ra, enc.subarray(0, 2));
  t.equal(enc[2]! ^ b1[0]!, 16, 'Key-Length');
  const d = decryptSaltedKey(enc, s, ra);
  t.ok(d.ok && same(d.value.reveal(), key));
  t.equal(String(d.ok && d.value), '<redacted>');
  const lowSalt = Buffer.from(enc);
  lowSalt[0]! &= 0x7f;
  t.match(decryptSaltedKey(lowSalt, s, ra), { ok: false });
  t.match(decryptSaltedKey(enc.subarray(0, 17), s, ra), { ok: false });
});

t.test('Microsoft attributes: MS-CHAP2-Response layout, Success/Error/keys read from a reply', async (t) => {
  const peerChallenge = Buffer.alloc(16, 0xaa);
  const ntResponse = Buffer.alloc(24, 0xbb);
  const attr = msChap2Response({ ident: 7, flags: 0, peerChallenge, ntResponse });
  t.equal(attr.type, Attr.VendorSpecific);
  t.equal(attr.value.length, 4 + 2 + 50);
  t.same([...attr.value.subarray(0, 6)], [0, 0, 1, 0x37, MsAttr.MsChap2Response, 52]);
  const d = decodeVendorSpecific(attr.value);
  if (!d.ok) return t.fail(d.error.message);
  const r = decodeMsChap2Response(d.value[0]!.value);
  t.ok(r.ok && r.value.ident === 7 && same(r.value.peerChallenge, peerChallenge) && same(r.value.ntResponse, ntResponse));
  t.equal(msChapChallenge(Buffer.alloc(16)).value.length, 22);

  const ra = Buffer.alloc(16, 3);
  const s = secretOf('x');
  const sendKey = Buffer.alloc(16, 1);
  const recvKey = Buffer.alloc(16, 2);
  const reply = readMicrosoftReply([
    encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChap2Success, Buffer.concat([Buffer.of(7), Buffer.from(`S=${'A'.repeat(40)}`)])),
    encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsMppeSendKey, encryptSaltedKey(sendKey, 1, s, ra)),
    encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsMppeRecvKey, encryptSaltedKey(recvKey, 2, s, ra)),
    encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsPrimaryDnsServer, Uint8Array.of(10, 0, 0, 53)),
    encodeVendorAttribute(9, 1, Buffer.from('cisco-avpair')),
    { type: Attr.VendorSpecific, value: Uint8Array.of(0, 0, 1) },
  ], s, ra);
  t.equal(reply.success?.ident, 7);
  t.equal(reply.success?.text, `S=${'A'.repeat(40)}`);
  t.ok(reply.sendKey && same(reply.sendKey.reveal(), sendKey));
  t.ok(reply.recvKey && same(reply.recvKey.reveal(), recvKey));
  t.equal(reply.primaryDns, '10.0.0.53');
  t.equal(reply.malformed, 1, 'the truncated Vendor-Specific is counted, the rest still read');
  t.same(parseMsChapError('E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Authentication failed'), { error: 691, retry: false, message: 'Authentication failed' });
  t.same(parseMsChapError('E=648 R=1'), { error: 648, retry: true, message: '' });
  t.equal(parseMsChapError('nonsense'), undefined);
});

t.test('EAP-Message: split at 253 bytes, reassembled in order, Length checked', async (t) => {
  const eap = Buffer.alloc(600, 0x11);
  eap[0] = 1; eap[1] = 5; eap.writeUInt16BE(600, 2);
  const attrs = eapMessageAttributes(eap);
  t.same(attrs.map((a) => a.value.length), [253, 253, 94]);
  const back = reassembleEapMessage([{ type: Attr.State, value: Buffer.from('s') }, ...attrs]);
  t.ok(back.ok && back.value && same(back.value, eap));
  t.match(reassembleEapMessage(attrs.slice(0, 2)), { ok: false, error: { code: 'INVALID_SYNTAX' } });
  t.same(reassembleEapMessage([]), { ok: true, value: undefined });
});
