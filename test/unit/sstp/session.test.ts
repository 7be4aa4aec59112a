/**
 * The server state machine on a simulated clock: the client is played by hand-built packets,
 * time only moves when the test says so.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { decodeStatusInfo, encodeEncapsulatedProtocolId } from '../../../firmware/sstp/attributes.ts';
import { encodeCallConnected, hlakFrom } from '../../../firmware/sstp/crypto-binding.ts';
import {
  AttribStatus,
  AttributeId,
  decodeSstpPacket,
  encodeControlPacket,
  encodeDataPacket,
  HashProtocol,
  MessageType,
  type SstpControlPacket,
} from '../../../firmware/sstp/packet.ts';
import { SstpServerSession, type SstpAction, type SstpSessionOptions } from '../../../firmware/sstp/session.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { CALL_CONNECT_REQUEST, hex, toHex } from './vectors.ts';
import { terminateCauseOf } from '../../../firmware/radius/session-accounting.ts';

const CERT = Buffer.from('the gateway certificate, DER', 'ascii');
const certHash256 = createHash('sha256').update(CERT).digest();
const certHash1 = createHash('sha1').update(CERT).digest();
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
const HLAK = Uint8Array.from({ length: 32 }, (_, i) => 0x90 ^ i);
const LCP = hex('ff 03 c0 21 01 01 00 04');
const IPV4 = hex('ff 03 00 21 45 00 00 14');

const newSession = (options: Partial<SstpSessionOptions> = {}) => new SstpServerSession({ randomBytes: (n) => NONCE.slice(0, n), certHash256, certHash1, ...options }, 0);
const callConnected = (hlak: Uint8Array = HLAK, hashProtocol: HashProtocol = HashProtocol.SHA256) =>
  encodeCallConnected({ hashProtocol, nonce: NONCE, certHash: hashProtocol === HashProtocol.SHA1 ? certHash1 : certHash256, hlak });

const sent = (actions: SstpAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.packet] : []));
const of = <T extends SstpAction['type']>(actions: SstpAction[], type: T) => actions.filter((a): a is Extract<SstpAction, { type: T }> => a.type === type);
function control(packet: Uint8Array | undefined): SstpControlPacket {
  const d = decodeSstpPacket(packet ?? new Uint8Array(0));
  if (!d.ok || d.value.kind !== 'control') throw new Error('not a control packet');
  return d.value;
}
const statusOf = (packet: Uint8Array | undefined) => {
  const info = decodeStatusInfo(control(packet).attributes[0]?.value ?? new Uint8Array(0));
  return info.ok ? [info.value.attribId, info.value.status] : [];
};
const stream = (s: SstpServerSession, bytes: Uint8Array, now: number) => s.handle({ type: 'RcvStream', bytes }, now);
const tick = (s: SstpServerSession, now: number) => s.handle({ type: 'Timeout' }, now);

/** Up to ServerCallConnectedPending at t = 1 s, then PPP authenticated at 5 s. */
function pending(options: Partial<SstpSessionOptions> = {}) {
  const s = newSession(options);
  const actions = stream(s, CALL_CONNECT_REQUEST, 1000);
  return { s, actions };
}
function connected() {
  const { s } = pending();
  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 5000);
  stream(s, callConnected(), 6000);
  if (s.state !== 'ServerCallConnected') throw new Error(`setup stuck in ${s.state}`);
  return s;
}

t.test('happy path: request, Ack with the nonce, PPP control before and data after Call Connected', async (t) => {
  const s = newSession();
  t.equal(s.state, 'ServerConnectRequestPending');
  t.equal(s.nextTimeout(), 60_000, 'negotiation timer for the Call Connect Request');
  const a = stream(s, CALL_CONNECT_REQUEST, 1000);
  const ack = control(sent(a)[0]);
  t.equal(ack.messageType, MessageType.CALL_CONNECT_ACK);
  t.equal(toHex(ack.attributes[0]!.value), toHex(Buffer.concat([hex('00 00 00 03'), NONCE])), 'CRYPTO_BINDING_REQ: SHA256|SHA1 and our nonce');
  t.equal(of(a, 'start-ppp').length, 1, 'Lower Link Up for PPP');
  t.equal(s.state, 'ServerCallConnectedPending');
  t.equal(s.nextTimeout(), 61_000, 'negotiation timer restarted for Call Connected');

  t.same(of(stream(s, encodeDataPacket(LCP), 2000), 'deliver-ppp'), [{ type: 'deliver-ppp', frame: LCP }], 'LCP goes up');
  t.same(of(stream(s, encodeDataPacket(IPV4), 2000), 'deliver-ppp'), [], 'IPv4 is held back');
  t.equal(s.drops['ppp-data-before-call-connected'], 1);
  t.equal(toHex(sent(s.handle({ type: 'CmdSendPpp', frame: LCP }, 2500))[0]!), toHex(encodeDataPacket(LCP)), 'our LCP goes out');
  t.same(sent(s.handle({ type: 'CmdSendPpp', frame: IPV4 }, 2500)), [], 'our IPv4 waits too');

  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 5000);
  const c = stream(s, callConnected(), 6000);
  t.equal(s.state, 'ServerCallConnected');
  t.equal(s.hashProtocol, HashProtocol.SHA256);
  t.same(sent(c), [], 'nothing to answer');
  t.equal(s.nextTimeout(), 66_000, 'Hello timer');
  t.same(of(stream(s, encodeDataPacket(IPV4), 7000), 'deliver-ppp'), [{ type: 'deliver-ppp', frame: IPV4 }]);
  t.equal(sent(s.handle({ type: 'CmdSendPpp', frame: IPV4 }, 7000)).length, 1);
});

t.test('the same exchange fed one byte at a time', async (t) => {
  const s = newSession();
  const wire = Buffer.concat([CALL_CONNECT_REQUEST, encodeDataPacket(LCP)]);
  const actions = [...wire].flatMap((byte) => stream(s, Uint8Array.of(byte), 1000));
  t.equal(of(actions, 'deliver-ppp').length, 1);
  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 2000);
  for (const byte of callConnected()) stream(s, Uint8Array.of(byte), 3000);
  t.equal(s.state, 'ServerCallConnected');
});

t.test('SHA-1 binding and an authentication without keys (HLAK of zeros)', async (t) => {
  const { s } = pending();
  s.handle({ type: 'RcvPppAuthenticated' }, 2000);
  stream(s, callConnected(new Uint8Array(32), HashProtocol.SHA1), 3000);
  t.equal(s.state, 'ServerCallConnected');
  t.equal(s.hashProtocol, HashProtocol.SHA1);
});

t.test('a Call Connected that overtakes the PPP event is held, then checked', async (t) => {
  const { s } = pending();
  t.same(sent(stream(s, callConnected(), 3000)), []);
  t.equal(s.state, 'ServerCallConnectedPending');
  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 3500);
  t.equal(s.state, 'ServerCallConnected');

  const late = pending().s;
  stream(late, callConnected(hlakFrom().reveal()), 3000);
  const a = late.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 3500);
  t.equal(of(a, 'abort')[0]?.reason, 'invalid Compound MAC', 'a held one with a wrong MAC still fails');
});

t.test('a wrong Compound MAC aborts with "invalid Compound MAC" (the classic interop failure)', async (t) => {
  const { s } = pending();
  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 5000);
  const a = stream(s, callConnected(hlakFrom(Uint8Array.of(1)).reveal()), 6000);
  t.same(of(a, 'abort'), [{ type: 'abort', reason: 'invalid Compound MAC', status: AttribStatus.VALUE_NOT_SUPPORTED }]);
  t.ok(of(a, 'log').some((l) => l.level === 'warn' && l.msg.includes('invalid Compound MAC')), 'logged as a warning');
  const abort = sent(a)[0];
  t.equal(control(abort).messageType, MessageType.CALL_ABORT);
  t.same(statusOf(abort), [AttributeId.CRYPTO_BINDING, AttribStatus.VALUE_NOT_SUPPORTED], '§3.3.5.2.3: attribute CRYPTO_BINDING, VALUE_NOT_SUPPORTED');
  t.equal(s.state, 'CallAbortPending');
  t.same(sent(stream(s, encodeDataPacket(LCP), 6100)), [], 'everything but Call Abort is ignored now');
  t.same(of(stream(s, encodeControlPacket(MessageType.ECHO_REQUEST), 6200), 'send'), []);
  stream(s, encodeControlPacket(MessageType.CALL_ABORT), 7000);
  t.equal(s.state, 'CallAbortTimeoutPending', 'their Call Abort came back');
  t.same(tick(s, 7999), []);
  t.same(of(tick(s, 8000), 'close').length, 1, 'closed after 1 s');
  t.equal(s.state, 'ServerCallDisconnected');
  t.same(stream(s, CALL_CONNECT_REQUEST, 9000), [], 'silence after close');
  t.equal(s.nextTimeout(), undefined);
});

t.test('a Cert Hash of another certificate (a TLS man in the middle) aborts too; no answer closes after 3 s', async (t) => {
  const { s } = pending();
  s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, 5000);
  const forged = encodeCallConnected({ hashProtocol: HashProtocol.SHA256, nonce: NONCE, certHash: new Uint8Array(32).fill(9), hlak: HLAK });
  const a = stream(s, forged, 6000);
  t.match(of(a, 'abort')[0]?.reason, /Cert Hash/);
  t.equal(s.nextTimeout(), 9000);
  t.equal(of(tick(s, 9000), 'close').length, 1, 'TIMER_VAL_ABORT_STATE_TIMER_1');
});

t.test('a request for another protocol is NAKed; the 4th bad request is aborted', async (t) => {
  const s = newSession();
  const bad = encodeControlPacket(MessageType.CALL_CONNECT_REQUEST, [encodeEncapsulatedProtocolId(2)]);
  const nak = sent(stream(s, bad, 1000))[0];
  t.equal(control(nak).messageType, MessageType.CALL_CONNECT_NAK);
  t.equal(toHex(control(nak).attributes[0]!.value), '00 00 00 01 00 00 00 04 00 02', 'AttribID 1, VALUE_NOT_SUPPORTED, the proposed value');
  t.equal(s.state, 'ServerConnectRequestPending');
  stream(s, bad, 1100);
  stream(s, bad, 1200);
  const a = stream(s, bad, 1300);
  t.same(statusOf(sent(a)[0]), [AttributeId.STATUS_INFO, AttribStatus.RETRY_COUNT_EXCEEDED]);
  t.equal(s.state, 'CallAbortPending');

  const again = newSession();
  stream(again, bad, 1000);
  t.equal(control(sent(stream(again, CALL_CONNECT_REQUEST, 1500))[0]).messageType, MessageType.CALL_CONNECT_ACK, 'a good request after a NAK is accepted');

  const empty = newSession();
  const missing = sent(stream(empty, encodeControlPacket(MessageType.CALL_CONNECT_REQUEST), 1000))[0];
  t.same(statusOf(missing), [AttributeId.ENCAPSULATED_PROTOCOL_ID, AttribStatus.REQUIRED_ATTRIBUTE_MISSING]);
  const twice = sent(stream(newSession(), encodeControlPacket(MessageType.CALL_CONNECT_REQUEST, [encodeEncapsulatedProtocolId(), encodeEncapsulatedProtocolId()]), 1000))[0];
  t.same(statusOf(twice), [AttributeId.ENCAPSULATED_PROTOCOL_ID, AttribStatus.DUPLICATE_ATTRIBUTE]);
});

t.test('negotiation timeouts: no request in 60 s, no Call Connected in 60 s', async (t) => {
  const s = newSession();
  t.same(tick(s, 59_999).filter((a) => a.type !== 'log'), [], 'not yet');
  const a = tick(s, 60_000);
  t.same(statusOf(sent(a)[0]), [AttributeId.STATUS_INFO, AttribStatus.NEGOTIATION_TIMEOUT]);
  t.equal(of(a, 'abort')[0]?.status, AttribStatus.NEGOTIATION_TIMEOUT);
  t.equal(of(tick(s, 63_000), 'close').length, 1);

  const { s: p } = pending();
  t.same(of(tick(p, 60_999), 'abort'), []);
  t.match(of(tick(p, 61_000), 'abort')[0]?.reason, /no Call Connected within 60 s/);
});

t.test('Hello: Echo Request after 60 s idle, closed without a Call Abort 60 s later', async (t) => {
  const s = connected();
  t.equal(s.nextTimeout(), 66_000);
  const echo = tick(s, 66_000);
  t.equal(control(sent(echo)[0]).messageType, MessageType.ECHO_REQUEST);
  t.equal(s.nextTimeout(), 126_000);
  const end = tick(s, 126_000);
  t.same(sent(end), [], '§3.1.2.3: no Call Abort on the wire');
  t.match(of(end, 'abort')[0]?.reason, /no answer to an Echo Request/);
  t.equal(of(end, 'close').length, 1);
  t.equal(s.state, 'ServerCallDisconnected');
});

t.test('Hello: any packet restarts the timer; Echo Requests are answered', async (t) => {
  const s = connected();
  tick(s, 66_000);
  stream(s, encodeControlPacket(MessageType.ECHO_RESPONSE), 70_000);
  t.equal(s.nextTimeout(), 130_000, 'the Echo Response restarted it');
  t.same(of(tick(s, 126_000), 'close'), [], 'so nothing happens at the old deadline');
  stream(s, encodeDataPacket(IPV4), 100_000);
  t.equal(s.nextTimeout(), 160_000, 'data counts too');
  const reply = sent(stream(s, encodeControlPacket(MessageType.ECHO_REQUEST), 110_000));
  t.equal(control(reply[0]).messageType, MessageType.ECHO_RESPONSE);
  t.equal(s.state, 'ServerCallConnected');
});

t.test('messages out of place abort the call (§3.3.5.2.x)', async (t) => {
  const early = newSession();
  const a = stream(early, encodeControlPacket(MessageType.ECHO_REQUEST), 1000);
  t.same(statusOf(sent(a)[0]), [AttributeId.STATUS_INFO, AttribStatus.UNACCEPTED_FRAME_RECEIVED], 'Echo Request before Call Connected');
  const s = connected();
  t.equal(of(stream(s, CALL_CONNECT_REQUEST, 7000), 'abort').length, 1, 'a second Call Connect Request');
  t.same(statusOf(sent(stream(connected(), encodeControlPacket(0x00ff), 7000))[0]), [AttributeId.STATUS_INFO, AttribStatus.INVALID_FRAME_RECEIVED], 'an unknown message type');
  t.same(statusOf(sent(stream(connected(), hex('10 01 00 0c 00 08 00 01 00 01 00 03'), 7000))[0]), [AttributeId.STATUS_INFO, AttribStatus.INVALID_FRAME_RECEIVED], 'a malformed packet');
  t.equal(of(stream(connected(), encodeControlPacket(MessageType.CALL_CONNECT_ACK), 7000), 'abort').length, 1, 'a message only servers send');
});

t.test('a stream that loses framing is cut without a message (§3.1.5.1)', async (t) => {
  const s = connected();
  const a = stream(s, hex('17 03 03 00 20 de ad'), 7000);
  t.same(sent(a), []);
  t.equal(of(a, 'abort').length, 1);
  t.equal(of(a, 'close').length, 1);
});

t.test('disconnects: theirs, ours, and the TLS connection going away', async (t) => {
  const s = connected();
  const theirs = stream(s, encodeControlPacket(MessageType.CALL_DISCONNECT, []), 7000);
  t.equal(control(sent(theirs)[0]).messageType, MessageType.CALL_DISCONNECT_ACK);
  t.equal(s.state, 'CallDisconnectTimeoutPending');
  const closed = of(tick(s, 8000), 'close');
  t.equal(closed.length, 1, 'closed after TIMER_VAL_DISCONNECT_STATE_TIMER_2');
  // RADIUS accounting reads the reason: the client's own hang-up is User-Request, not NAS-Request.
  t.equal(terminateCauseOf((closed[0] as { reason: string }).reason), 'UserRequest', `the client hung up: ${JSON.stringify(closed[0])}`);

  const o = connected();
  const ours = o.handle({ type: 'CmdDisconnect' }, 7000);
  t.equal(control(sent(ours)[0]).messageType, MessageType.CALL_DISCONNECT);
  t.same(statusOf(sent(ours)[0]), [AttributeId.NO_ERROR, AttribStatus.NO_ERROR]);
  t.same(sent(o.handle({ type: 'CmdSendPpp', frame: IPV4 }, 7100)), [], 'no more PPP after it');
  t.equal(of(stream(o, encodeControlPacket(MessageType.CALL_DISCONNECT_ACK), 7500), 'close').length, 1, 'their ack ends it');

  const silent = connected();
  silent.handle({ type: 'CmdDisconnect' }, 7000);
  t.equal(of(tick(silent, 12_000), 'close').length, 1, 'no ack: closed after 5 s');

  const gone = connected();
  t.same(gone.handle({ type: 'RcvLowerLayerDown' }, 7000).filter((a) => a.type !== 'log'), [{ type: 'close', reason: 'the HTTPS connection closed' }]);
});

t.test('their Call Abort is answered with ours, then the call closes after 1 s', async (t) => {
  const s = connected();
  const a = stream(s, encodeControlPacket(MessageType.CALL_ABORT), 7000);
  t.equal(control(sent(a)[0]).messageType, MessageType.CALL_ABORT);
  t.equal(s.state, 'CallAbortTimeoutPending');
  t.equal(of(tick(s, 8000), 'close').length, 1);
});

t.test('options are checked up front', async (t) => {
  t.throws(() => newSession({ certHash1: new Uint8Array(32) }), RangeError);
  t.throws(() => newSession({ hashProtocols: 0 }), RangeError);
  const only256 = pending({ hashProtocols: HashProtocol.SHA256 });
  t.equal(toHex(control(sent(only256.actions)[0]).attributes[0]!.value.subarray(0, 4)), '00 00 00 02');
});
