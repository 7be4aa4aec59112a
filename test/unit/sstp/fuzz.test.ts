/**
 * Property tests: random and mutated input never makes an SSTP decoder, the HTTP handshake or the
 * session throw; the session only ever sends packets that decode, and stays silent once closed.
 */
import fc from 'fast-check';
import t from 'tap';
import { decodeCryptoBinding, decodeCryptoBindingRequest, decodeEncapsulatedProtocolId, decodeStatusInfo } from '../../../firmware/sstp/attributes.ts';
import { judgeCallConnectRequest } from '../../../firmware/sstp/call-connect-request.ts';
import { encodeCallConnected, verifyCallConnected } from '../../../firmware/sstp/crypto-binding.ts';
import { answerRequestHead } from '../../../firmware/sstp/http-handshake.ts';
import { decodeSstpPacket, encodeControlPacket, encodeDataPacket, HashProtocol, isPppControlFrame, MessageType, SstpFramer } from '../../../firmware/sstp/packet.ts';
import { SstpServerSession, type SstpEvent } from '../../../firmware/sstp/session.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import * as V from './vectors.ts';

const NONCE = new Uint8Array(32).fill(5);
const HLAK = new Uint8Array(32).fill(6);
const CERT256 = new Uint8Array(32).fill(7);
const CERT1 = new Uint8Array(20).fill(8);

/** Valid packets of every kind, to mutate. */
const SEEDS: Uint8Array[] = [
  V.CALL_CONNECT_REQUEST,
  V.CALL_CONNECT_ACK_256,
  V.CALL_CONNECTED_256,
  V.CALL_CONNECTED_1,
  encodeCallConnected({ hashProtocol: HashProtocol.SHA256, nonce: NONCE, certHash: CERT256, hlak: HLAK }),
  encodeControlPacket(MessageType.ECHO_REQUEST),
  encodeControlPacket(MessageType.ECHO_RESPONSE),
  encodeControlPacket(MessageType.CALL_DISCONNECT),
  encodeControlPacket(MessageType.CALL_DISCONNECT_ACK),
  V.hex('10 01 00 14 00 05 00 01 00 02 00 0c 00 00 00 03 00 00 00 04'),
  V.hex('10 01 00 16 00 03 00 01 00 02 00 0e 00 00 00 01 00 00 00 04 00 02'),
  encodeDataPacket(V.hex('ff 03 c0 21 01 01 00 04')),
  encodeDataPacket(V.hex('ff 03 00 21 45 00 00 14')),
];

const mutated = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    edits: fc.array(fc.tuple(fc.nat({ max: 115 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat({ max: 115 }), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 6 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const out = Uint8Array.from([...seed.subarray(0, cut ?? seed.length), ...tail]);
    for (const [at, value] of edits) if (at < out.length) out[at] = value;
    return out;
  });
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 130 }), mutated);

t.test('packet and attribute decoders never throw on 2,000 random and 2,000 mutated inputs', async (t) => {
  const check = (bytes: Uint8Array) => {
    const p = decodeSstpPacket(bytes);
    for (const value of [bytes, ...(p.ok && p.value.kind === 'control' ? p.value.attributes.map((a) => a.value) : [])]) {
      decodeEncapsulatedProtocolId(value);
      decodeCryptoBindingRequest(value);
      decodeCryptoBinding(value);
      decodeStatusInfo(value);
    }
    if (p.ok && p.value.kind === 'control') judgeCallConnectRequest(p.value.attributes);
    if (p.ok && p.value.kind === 'data') isPppControlFrame(p.value.data);
    verifyCallConnected(bytes, { nonce: NONCE, certHash256: CERT256, certHash1: CERT1, hlak: HLAK });
    const framer = new SstpFramer();
    framer.push(bytes.subarray(0, 3));
    framer.push(bytes.subarray(3));
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 130 }), check), { numRuns: 2000 });
  fc.assert(fc.property(mutated, check), { numRuns: 2000 });
  t.pass('no decoder threw');
});

t.test('the HTTP handshake never throws on 2,000 random and 2,000 mutated heads', async (t) => {
  const head = Buffer.from('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n', 'latin1');
  const mutatedHead = fc
    .record({ edits: fc.array(fc.tuple(fc.nat({ max: head.length }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), cut: fc.nat({ max: head.length }) })
    .map(({ edits, cut }) => {
      const out = Uint8Array.from(head.subarray(0, Math.max(cut, head.length - 10)));
      for (const [at, value] of edits) if (at < out.length) out[at] = value;
      return out;
    });
  const check = (bytes: Uint8Array) => {
    const r = answerRequestHead(bytes, 0);
    return r.kind === 'incomplete' || r.response.length > 0;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 2000 });
  fc.assert(fc.property(mutatedHead, check), { numRuns: 2000 });
  t.pass('no handshake threw');
});

/** What may happen to a session: packets (mostly near-valid), raw stream bytes, PPP events, time. */
const anyEvent: fc.Arbitrary<{ event: SstpEvent; dt: number }> = fc.record({
  dt: fc.integer({ min: 0, max: 70_000 }),
  event: fc.oneof(
    { weight: 5, arbitrary: anyBytes.map((packet): SstpEvent => ({ type: 'RcvPacket', packet })) },
    { weight: 3, arbitrary: fc.constantFrom(...SEEDS).map((packet): SstpEvent => ({ type: 'RcvPacket', packet })) },
    { weight: 2, arbitrary: anyBytes.map((bytes): SstpEvent => ({ type: 'RcvStream', bytes })) },
    { weight: 1, arbitrary: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }).map((k): SstpEvent => (k ? { type: 'RcvPppAuthenticated', hlak: new Secret(k) } : { type: 'RcvPppAuthenticated' })) },
    { weight: 1, arbitrary: fc.constant<SstpEvent>({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 5000 }).map((frame): SstpEvent => ({ type: 'CmdSendPpp', frame })) },
    { weight: 2, arbitrary: fc.constant<SstpEvent>({ type: 'Timeout' }) },
    { weight: 1, arbitrary: fc.constantFrom<SstpEvent>({ type: 'CmdDisconnect' }, { type: 'RcvLowerLayerDown' }) },
  ),
});

t.test('the session never throws on 2,000 random event sequences and keeps its promises', async (t) => {
  let reachedConnected = 0;
  fc.assert(
    fc.property(fc.constantFrom(0, 1, 2), fc.array(anyEvent, { maxLength: 25 }), (start, events) => {
      const s = new SstpServerSession({ randomBytes: (n) => NONCE.slice(0, n), certHash256: CERT256, certHash1: CERT1 }, 0);
      let now = 0;
      let closed = false;
      let wasConnected = false;
      // Start fresh, after the Call Connect Request, or connected.
      if (start > 0) s.handle({ type: 'RcvPacket', packet: V.CALL_CONNECT_REQUEST }, now);
      if (start > 1) s.handle({ type: 'RcvPppAuthenticated', hlak: new Secret(HLAK) }, now);
      if (start > 1) s.handle({ type: 'RcvPacket', packet: SEEDS[4]! }, now);
      if (start > 1 && s.state !== 'ServerCallConnected') return false;
      wasConnected = start > 1;
      for (const { event, dt } of events) {
        now += dt;
        const actions = s.handle(event, now);
        if (closed && actions.length > 0) return false;
        for (const a of actions) if (a.type === 'send' && !decodeSstpPacket(a.packet).ok) return false;
        const closes = actions.filter((a) => a.type === 'close').length;
        if (closes > 1 || (closes === 1 && actions[actions.length - 1]?.type !== 'close')) return false;
        closed ||= closes === 1;
        wasConnected ||= s.state === 'ServerCallConnected';
        const next = s.nextTimeout();
        if (closed !== (next === undefined)) return false;
      }
      if (wasConnected) reachedConnected++;
      return true;
    }),
    { numRuns: 2000 },
  );
  t.ok(reachedConnected > 500, `${reachedConnected} of the runs got as far as ServerCallConnected`);
});
