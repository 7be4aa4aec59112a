// L2TPv2 codecs (RFC 2661 §3.1, §4.1, §4.3, §4.4, §6): annotated byte vectors both ways, strict
// header checks, the M bit rule, hidden AVPs computed independently here with node:crypto, and the
// §4.2 challenge response.
import { createHash } from 'node:crypto';
import t from 'tap';
import { decodeL2tpPacket, encodeL2tpPacket } from '../../../firmware/l2tp/header.ts';
import { decodeAvps, hideAvpValue, unhideAvpValue } from '../../../firmware/l2tp/avp.ts';
import { MessageType } from '../../../firmware/l2tp/avp-types.ts';
import { decodeControlMessage, encodeControlMessage, refusedAsLns } from '../../../firmware/l2tp/control-message.ts';
import { challengeResponse, checkChallengeResponse } from '../../../firmware/l2tp/tunnel-auth.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const hex = (s: string) => Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const md5 = (...parts: Uint8Array[]) => { const h = createHash('md5'); for (const p of parts) h.update(p); return h.digest(); };

// An SCCRQ as xl2tpd sends it (trimmed): control header, then the AVPs.
const sccrq = hex(`
  c802 0049 0000 0000 0000 0000      # T L S, ver 2, length 73, tunnel 0, session 0, Ns 0, Nr 0
  8008 0000 0000 0001                # M, len 8, Message Type = 1 (SCCRQ)
  8008 0000 0002 0100                # M, len 8, Protocol Version 1.0
  800a 0000 0003 00000003            # M, len 10, Framing Capabilities: sync + async
  800a 0000 0004 00000003            # M, len 10, Bearer Capabilities: digital + analog
  0008 0000 0006 0690                # len 8, Firmware Revision 0x0690
  8009 0000 0007 6c6e73              # M, len 9,  Host Name "lns"
  8008 0000 0009 1234                # M, len 8, Assigned Tunnel ID 0x1234
`);

t.test('header: a control message decodes and re-encodes to the same bytes', async (t) => {
  const d = decodeL2tpPacket(sccrq);
  t.ok(d.ok);
  if (!d.ok) return;
  t.same(d.value.header, { type: 'control', tunnelId: 0, sessionId: 0, ns: 0, nr: 0 });
  t.equal(d.value.payload.length, 61);
  t.ok(same(encodeL2tpPacket(d.value.header, d.value.payload), sccrq));
});

t.test('header: data messages with and without the optional fields', async (t) => {
  const bare = hex('0002 1234 0005 ff03c021');                 // no L/S/O/P: tunnel 0x1234, session 5, PPP frame
  const d = decodeL2tpPacket(bare);
  t.ok(d.ok && d.value.header.type === 'data' && !d.value.header.lengthPresent && d.value.header.sequence === undefined);
  t.ok(d.ok && same(d.value.payload, hex('ff03c021')));
  const full = hex('4b02 0014 1234 0005 0007 0003 0002 0000 ff03c021');  // L S O P, length 20, Ns 7 Nr 3, offset 2 (pad 0000)
  const f = decodeL2tpPacket(full);
  t.ok(f.ok);
  if (!f.ok || f.value.header.type !== 'data') return;
  t.same(f.value.header, { type: 'data', tunnelId: 0x1234, sessionId: 5, lengthPresent: true, priority: true, sequence: { ns: 7, nr: 3 }, offsetSize: 2 });
  t.ok(same(f.value.payload, hex('ff03c021')));
  t.ok(same(encodeL2tpPacket(f.value.header, f.value.payload), full));
  // Bytes past Length (padding after the message) are not payload.
  const padded = decodeL2tpPacket(Buffer.concat([full, hex('0000')]));
  t.ok(padded.ok && same(padded.value.payload, hex('ff03c021')));
});

t.test('header: strict checks with clear errors', async (t) => {
  const refused = (b: Uint8Array, code: string, match: RegExp) => {
    const d = decodeL2tpPacket(b);
    t.notOk(d.ok, match.source);
    if (!d.ok) (t.equal(d.error.code, code), t.match(d.error.message, match));
  };
  refused(hex('c803 000c 0000 0000 0000 0000'), 'INVALID_MAJOR_VERSION', /version 3/);
  refused(hex('c801 000c 0000 0000 0000 0000'), 'INVALID_MAJOR_VERSION', /version 1/);
  refused(hex('8802 0000 0000 0000 0000'), 'INVALID_SYNTAX', /without the L and S/);     // control without L
  refused(hex('c002 000c 0000 0000 0000 0000'), 'INVALID_SYNTAX', /without the L and S/); // control without S
  refused(hex('ca02 000e 0000 0000 0000 0000 0000'), 'INVALID_SYNTAX', /O or P/);
  refused(hex('c902 000c 0000 0000 0000 0000'), 'INVALID_SYNTAX', /O or P/);
  refused(hex('c802 0010 0000 0000 0000 0000'), 'TRUNCATED', /Length 16 is past/);
  refused(hex('c802 0008 0000 0000 0000 0000'), 'INVALID_SYNTAX', /shorter than/);
  refused(hex('c802 000c 0000'), 'TRUNCATED', /needs 12/);
  refused(hex('0202 0000 0000 0010'), 'INVALID_SYNTAX', /Offset Size 16 runs past/);
  refused(hex('0002'), 'TRUNCATED', /at least 6/);
  // Reserved x bits are ignored on receipt.
  t.ok(decodeL2tpPacket(hex('f8f2 000c 0000 0000 0000 0000')).ok);
  t.throws(() => encodeL2tpPacket({ type: 'control', tunnelId: 70000, sessionId: 0, ns: 0, nr: 0 }, new Uint8Array(0)), /16-bit/);
});

t.test('control message: SCCRQ typed, required AVPs present, re-encoded identically', async (t) => {
  const packet = decodeL2tpPacket(sccrq);
  if (!packet.ok) return t.fail('header');
  const d = decodeControlMessage(packet.value.payload);
  t.ok(d.ok && d.value.kind === 'message');
  if (!d.ok || d.value.kind !== 'message') return;
  t.equal(d.value.messageType, MessageType.SCCRQ);
  t.same(d.value.avps, { protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, bearerCapabilities: 3, firmwareRevision: 0x690, hostName: 'lns', assignedTunnelId: 0x1234 });
  t.ok(same(encodeControlMessage(MessageType.SCCRQ, d.value.avps), packet.value.payload));
});

t.test('control message: every typed AVP round trips', async (t) => {
  const avps = {
    resultCode: { result: 2, error: 6, message: 'tie' }, protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, bearerCapabilities: 1,
    tieBreaker: 0x0102030405060708n, firmwareRevision: 1, hostName: 'h', vendorName: 'Postern', assignedTunnelId: 9, receiveWindowSize: 8,
    challenge: Uint8Array.of(1, 2, 3), q931CauseCode: { causeCode: 16, causeMessage: 1, advisory: 'x' }, challengeResponse: new Uint8Array(16).fill(7),
    assignedSessionId: 4, callSerialNumber: 0xfffffffe, minimumBps: 1, maximumBps: 2, bearerType: 1, framingType: 2, calledNumber: '1', callingNumber: '2',
    subAddress: '3', txConnectSpeed: 100_000_000, physicalChannelId: 5, initialReceivedLcpConfreq: Uint8Array.of(1), lastSentLcpConfreq: Uint8Array.of(2),
    lastReceivedLcpConfreq: Uint8Array.of(3), proxyAuthenType: Uint8Array.of(0, 2), proxyAuthenName: Uint8Array.of(0x61), proxyAuthenChallenge: Uint8Array.of(4),
    proxyAuthenId: Uint8Array.of(0, 1), proxyAuthenResponse: Uint8Array.of(5),
    callErrors: { crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4, timeoutErrors: 5, alignmentErrors: 6 },
    accm: { sendAccm: 0xffffffff, receiveAccm: 0 }, privateGroupId: Uint8Array.of(6), rxConnectSpeed: 7, sequencingRequired: true as const,
  };
  const d = decodeControlMessage(encodeControlMessage(MessageType.ICCN, avps));
  t.ok(d.ok && d.value.kind === 'message');
  if (d.ok && d.value.kind === 'message') t.same(d.value.avps, avps);
  // Result Code: 2 bytes alone, or the error code with or without a message.
  const rc = (v: string) => decodeControlMessage(hex(`8008 0000 0000 0004  8008 0000 0009 0001  ${v}`));
  t.same(rc('8008 0000 0001 0001').ok && rc('8008 0000 0001 0001'), { ok: true, value: { kind: 'message', messageType: 4, avps: { resultCode: { result: 1 }, assignedTunnelId: 1 }, vendorAvps: [], ignoredAvps: 0 } });
  const three = rc('8009 0000 0001 000100');
  t.ok(!three.ok && /not 2 or 4/.test(three.error.message), 'a 3-byte Result Code is refused');
});

t.test('control message: the M bit, vendor AVPs, Message Type rules and required AVPs', async (t) => {
  const hello = '8008 0000 0000 0006';
  const unknownM = decodeControlMessage(hex(`${hello} 8008 0000 00c8 0000`));         // unknown type 200, M set
  t.ok(!unknownM.ok && unknownM.error.code === 'UNSUPPORTED_CRITICAL_PAYLOAD' && /must be cleared/.test(unknownM.error.message));
  const unknown = decodeControlMessage(hex(`${hello} 0008 0000 00c8 0000`));          // the same without M: skipped
  t.ok(unknown.ok && unknown.value.kind === 'message' && unknown.value.ignoredAvps === 1);
  const vendor = decodeControlMessage(hex(`${hello} 0009 0137 0001 aabbcc`));          // Microsoft (311) vendor AVP, no M: kept
  t.ok(vendor.ok && vendor.value.kind === 'message' && vendor.value.vendorAvps.length === 1 && vendor.value.vendorAvps[0]!.vendorId === 311);
  if (vendor.ok && vendor.value.kind === 'message') t.ok(same(encodeControlMessage(MessageType.HELLO, {}, { vendorAvps: vendor.value.vendorAvps }), hex(`${hello} 0009 0137 0001 aabbcc`)));
  const vendorM = decodeControlMessage(hex(`${hello} 8009 0137 0001 aabbcc`));
  t.ok(!vendorM.ok && vendorM.error.code === 'UNSUPPORTED_CRITICAL_PAYLOAD');
  const reserved = decodeControlMessage(hex(`${hello} 8408 0000 000a 0004`));          // reserved bit set: unrecognised, M: refused
  t.ok(!reserved.ok && reserved.error.code === 'UNSUPPORTED_CRITICAL_PAYLOAD');
  const typeM = decodeControlMessage(hex('8008 0000 0000 0063'));                       // Message Type 99 with M
  t.ok(!typeM.ok && typeM.error.code === 'UNSUPPORTED_CRITICAL_PAYLOAD');
  t.same(decodeControlMessage(hex('0008 0000 0000 0063')), { ok: true, value: { kind: 'ignored', messageType: 99 } });
  const notFirst = decodeControlMessage(hex('8008 0000 0009 0001 8008 0000 0000 0006'));
  t.ok(!notFirst.ok && /first AVP is not Message Type/.test(notFirst.error.message));
  const missing = decodeControlMessage(hex('8008 0000 0000 000e 8008 0000 000e 0001'));   // CDN without Result Code
  t.ok(!missing.ok && /CDN without Result Code/.test(missing.error.message));
  const twice = decodeControlMessage(hex(`${hello} 8008 0000 000a 0004 8008 0000 000a 0004`));
  t.ok(!twice.ok && /twice/.test(twice.error.message));
  const short = decodeControlMessage(hex(`${hello} 8005 0000 0000`));
  t.ok(!short.ok && /shorter than its header/.test(short.error.message));
  const past = decodeControlMessage(hex(`${hello} 800a 0000 000a 00`));
  t.ok(!past.ok && past.error.code === 'TRUNCATED');
  t.ok(refusedAsLns(MessageType.OCRQ) && refusedAsLns(MessageType.OCCN) && !refusedAsLns(MessageType.ICRQ));
  for (const [type, avps] of [[MessageType.SCCRQ, 'hostName'], [MessageType.ICRQ, 'callSerialNumber'], [MessageType.ICCN, 'framingType'], [MessageType.WEN, 'callErrors'], [MessageType.SLI, 'accm']] as const) {
    const d = decodeControlMessage(encodeControlMessage(type, {}));
    t.ok(!d.ok && d.error.message.includes('without'), `${type} without ${avps}`);
  }
});

t.test('hidden AVPs (§4.3): the chained MD5 computed independently, both ways', async (t) => {
  const secret = Buffer.from('tunnel secret');
  const rv = Buffer.from('0123456789abcdef0123', 'latin1');
  const value = Buffer.from('a host name long enough for three sixteen-byte blocks');
  const padding = Buffer.from('pad');
  // Independently: subformat = Original Length | value | padding; b1 = MD5(type | secret | RV), bi = MD5(secret | c(i-1)).
  const plain = Buffer.concat([Buffer.from([0, value.length]), value, padding]);
  const expected = Buffer.alloc(plain.length);
  let b = md5(Buffer.from([0, 7]), secret, rv);
  for (let i = 0; i < plain.length; i++) {
    if (i > 0 && i % 16 === 0) b = md5(secret, expected.subarray(i - 16, i));
    expected[i] = plain[i]! ^ b[i % 16]!;
  }
  const hidden = hideAvpValue(7, secret, rv, value, padding);
  t.ok(same(hidden, expected), 'hide matches the independent computation');
  const back = unhideAvpValue(7, secret, rv, expected);
  t.ok(back.ok && same(back.value, value), 'unhide reveals the value and drops the padding');
  const wrong = unhideAvpValue(7, Buffer.from('wrong secret'), rv, expected);
  t.ok(!wrong.ok || !same(wrong.value, value), 'a wrong secret does not reveal it');

  // In a message: Random Vector first, Assigned Tunnel ID and Host Name hidden.
  const s = new Secret<Uint8Array>(secret);
  const encoded = encodeControlMessage(MessageType.SCCRQ, { protocolVersion: { version: 1, revision: 0 }, hostName: 'lac', framingCapabilities: 3, assignedTunnelId: 42 }, { hide: { secret: s, randomVector: rv, fields: ['hostName', 'assignedTunnelId'] } });
  const raw = decodeAvps(encoded);
  t.ok(raw.ok);
  if (raw.ok) {
    t.same(raw.value.map((a) => [a.attributeType, a.hidden]), [[0, false], [36, false], [2, false], [3, false], [7, true], [9, true]]);
    t.ok(same(raw.value[5]!.value, hideAvpValue(9, secret, rv, Uint8Array.of(0, 42))));
  }
  const d = decodeControlMessage(encoded, { secret: s });
  t.ok(d.ok && d.value.kind === 'message' && d.value.avps.hostName === 'lac' && d.value.avps.assignedTunnelId === 42);
  const noSecret = decodeControlMessage(encoded);
  t.ok(!noSecret.ok && /no tunnel secret/.test(noSecret.error.message));
  t.notMatch(String(noSecret.ok ? '' : noSecret.error.message), /tunnel secret[^ ]/);
  const noVector = decodeControlMessage(hex('8008 0000 0000 0006 c00a 0000 000a 00000000'), { secret: s });
  t.ok(!noVector.ok && /no Random Vector/.test(noVector.error.message));
});

t.test('tunnel authentication (§4.2): MD5(Message Type | secret | challenge)', async (t) => {
  const secret = new Secret<Uint8Array>(Buffer.from('s3cret'));
  const challenge = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const inSccrp = md5(Buffer.from([2]), Buffer.from('s3cret'), challenge);
  t.ok(same(challengeResponse(MessageType.SCCRP, secret, challenge), inSccrp));
  t.ok(same(challengeResponse(MessageType.SCCCN, secret, challenge), md5(Buffer.from([3]), Buffer.from('s3cret'), challenge)));
  t.ok(checkChallengeResponse(MessageType.SCCRP, secret, challenge, inSccrp));
  t.notOk(checkChallengeResponse(MessageType.SCCCN, secret, challenge, inSccrp), 'an SCCRP response is not valid in an SCCCN');
  t.notOk(checkChallengeResponse(MessageType.SCCRP, new Secret<Uint8Array>(Buffer.from('other')), challenge, inSccrp));
  t.notOk(checkChallengeResponse(MessageType.SCCRP, secret, challenge, inSccrp.subarray(0, 15)));
  t.notOk(checkChallengeResponse(MessageType.SCCRP, secret, challenge, undefined));
  t.equal(String(secret), '<redacted>');
});
