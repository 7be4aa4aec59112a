import fc from 'fast-check';
import t from 'tap';
import {
  decodeCryptoBinding,
  decodeCryptoBindingRequest,
  decodeEncapsulatedProtocolId,
  decodeStatusInfo,
  encodeCryptoBinding,
  encodeCryptoBindingRequest,
  encodeEncapsulatedProtocolId,
  encodeStatusInfo,
} from '../../../firmware/sstp/attributes.ts';
import {
  AttribStatus,
  AttributeId,
  decodeSstpPacket,
  encodeControlPacket,
  encodeDataPacket,
  encodeSstpPacket,
  HashProtocol,
  isPppControlFrame,
  MAX_PACKET_LENGTH,
  MessageType,
  SstpFramer,
  type SstpPacket,
} from '../../../firmware/sstp/packet.ts';
import * as V from './vectors.ts';

const { hex, toHex } = V;

function control(bytes: Uint8Array) {
  const d = decodeSstpPacket(bytes);
  if (!d.ok) throw new Error(d.error.message);
  if (d.value.kind !== 'control') throw new Error('not a control packet');
  return d.value;
}

t.test('the Call Connect Request sstpc and Windows send decodes field by field and encodes back', async (t) => {
  t.equal(toHex(V.CALL_CONNECT_REQUEST), '10 01 00 0e 00 01 00 01 00 01 00 06 00 01');
  const p = control(V.CALL_CONNECT_REQUEST);
  t.equal(p.messageType, MessageType.CALL_CONNECT_REQUEST);
  t.equal(p.attributes.length, 1);
  t.equal(p.attributes[0]?.attributeId, AttributeId.ENCAPSULATED_PROTOCOL_ID);
  const protocol = decodeEncapsulatedProtocolId(p.attributes[0]!.value);
  t.same(protocol, { ok: true, value: 1 }, 'Protocol ID 1 = PPP');
  t.equal(toHex(encodeControlPacket(MessageType.CALL_CONNECT_REQUEST, [encodeEncapsulatedProtocolId()])), toHex(V.CALL_CONNECT_REQUEST), 'byte for byte');
});

t.test('[MS-SSTP] §4.7 Call Connect Acks (SHA-256, SHA-1) both ways', async (t) => {
  for (const [bytes, mask, nonce] of [
    [V.CALL_CONNECT_ACK_256, HashProtocol.SHA256, V.NONCE_256],
    [V.CALL_CONNECT_ACK_1, HashProtocol.SHA1, V.NONCE_1],
  ] as const) {
    const p = control(bytes);
    t.equal(p.messageType, MessageType.CALL_CONNECT_ACK);
    t.equal(p.attributes[0]?.attributeId, AttributeId.CRYPTO_BINDING_REQ);
    const req = decodeCryptoBindingRequest(p.attributes[0]!.value);
    if (!req.ok) throw new Error(req.error.message);
    t.equal(req.value.hashProtocolBitmask, mask);
    t.equal(toHex(req.value.nonce), toHex(nonce));
    t.equal(toHex(encodeControlPacket(MessageType.CALL_CONNECT_ACK, [encodeCryptoBindingRequest(req.value)])), toHex(bytes));
  }
});

t.test('[MS-SSTP] §4.7 Call Connected messages: hashes and MACs without their padding', async (t) => {
  for (const [bytes, hp, nonce, cert, mac] of [
    [V.CALL_CONNECTED_256, HashProtocol.SHA256, V.NONCE_256, V.CERT_HASH_256, V.MAC_256],
    [V.CALL_CONNECTED_1, HashProtocol.SHA1, V.NONCE_1, V.CERT_HASH_1, V.MAC_1],
  ] as const) {
    t.equal(bytes.length, 112);
    const p = control(bytes);
    t.equal(p.messageType, MessageType.CALL_CONNECTED);
    const b = decodeCryptoBinding(p.attributes[0]!.value);
    if (!b.ok) throw new Error(b.error.message);
    t.equal(b.value.hashProtocol, hp);
    t.equal(toHex(b.value.nonce), toHex(nonce));
    t.equal(toHex(b.value.certHash), toHex(cert), `${cert.length}-byte Cert Hash`);
    t.equal(toHex(b.value.compoundMac), toHex(mac), `${mac.length}-byte Compound MAC`);
    t.equal(toHex(encodeControlPacket(MessageType.CALL_CONNECTED, [encodeCryptoBinding(b.value)])), toHex(bytes));
  }
});

t.test('Call Abort, NAK and the attribute-less messages', async (t) => {
  const abort = hex(`
    10 01 00 14 00 05 00 01   CALL_ABORT, Length 20, 1 attribute
    00 02 00 0c               STATUS_INFO, Length 12
    00 00 00 03               Reserved1, AttribID CRYPTO_BINDING
    00 00 00 04               Status VALUE_NOT_SUPPORTED
  `);
  const a = control(abort);
  t.same(decodeStatusInfo(a.attributes[0]!.value), { ok: true, value: { attribId: 3, status: 4, attribValue: new Uint8Array(0) } });
  t.equal(toHex(encodeControlPacket(MessageType.CALL_ABORT, [encodeStatusInfo({ attribId: AttributeId.CRYPTO_BINDING, status: AttribStatus.VALUE_NOT_SUPPORTED })])), toHex(abort));

  const nak = hex(`
    10 01 00 16 00 03 00 01   CALL_CONNECT_NAK, Length 22
    00 02 00 0e               STATUS_INFO, Length 14
    00 00 00 01               AttribID ENCAPSULATED_PROTOCOL_ID
    00 00 00 04               Status VALUE_NOT_SUPPORTED
    00 02                     AttribValue: the Protocol ID proposed
  `);
  const info = { attribId: 1, status: AttribStatus.VALUE_NOT_SUPPORTED, attribValue: Uint8Array.of(0, 2) };
  t.equal(toHex(encodeControlPacket(MessageType.CALL_CONNECT_NAK, [encodeStatusInfo(info)])), toHex(nak));
  t.same(decodeStatusInfo(control(nak).attributes[0]!.value), { ok: true, value: info });
  t.equal(encodeStatusInfo({ ...info, attribValue: new Uint8Array(100) }).value.length, 8 + 64, 'AttribValue cut to 64 bytes (§2.2.8)');

  for (const type of [MessageType.CALL_DISCONNECT_ACK, MessageType.ECHO_REQUEST, MessageType.ECHO_RESPONSE]) {
    t.equal(toHex(encodeControlPacket(type)), `10 01 00 08 00 0${type} 00 00`, `type ${type}: Length 8, no attributes (§2.2.15)`);
  }
});

t.test('data packets carry one PPP frame; reserved bits are ignored on receipt', async (t) => {
  const lcp = hex('ff 03 c0 21 01 01 00 04');
  const packet = encodeDataPacket(lcp);
  t.equal(toHex(packet), '10 00 00 0c ff 03 c0 21 01 01 00 04');
  t.same(decodeSstpPacket(packet), { ok: true, value: { kind: 'data', data: lcp } });
  const noisy = hex('10 fe f0 08 00 08 00 00');
  t.same(decodeSstpPacket(noisy), { ok: true, value: { kind: 'data', data: hex('00 08 00 00') } }, 'C bit 0 under set reserved bits');
  t.equal(control(hex('10 ff f0 08 00 08 00 00')).messageType, MessageType.ECHO_REQUEST, 'R bits over Length ignored');
  t.ok(isPppControlFrame(lcp) && isPppControlFrame(hex('80 21 01 01 00 04')) && isPppControlFrame(hex('c2 23 01')));
  t.notOk(isPppControlFrame(hex('ff 03 00 21 45 00')) || isPppControlFrame(hex('21 45 00')) || isPppControlFrame(new Uint8Array(0)), 'IPv4 (also PFC) and empty are not control');
});

t.test('decoding refuses what does not add up', async (t) => {
  const code = (bytes: Uint8Array) => {
    const d = decodeSstpPacket(bytes);
    return d.ok ? 'ok' : d.error.code;
  };
  t.equal(code(hex('10 01 00')), 'TRUNCATED');
  t.equal(code(hex('11 01 00 08 00 08 00 00')), 'INVALID_MAJOR_VERSION');
  t.equal(code(hex('10 01 00 03')), 'INVALID_SYNTAX', 'Length below the header');
  t.equal(code(hex('10 01 00 09 00 08 00 00')), 'TRUNCATED', 'Length past the bytes');
  t.equal(code(hex('10 01 00 07 00 08 00 00')), 'INVALID_SYNTAX', 'bytes past the Length');
  t.equal(code(hex('10 01 00 06 00 08')), 'TRUNCATED', 'control packet without Num Attributes');
  t.equal(code(hex('10 01 00 0e 00 01 00 02 00 01 00 06 00 01')), 'INVALID_SYNTAX', 'Num Attributes 2, one present');
  t.equal(code(hex('10 01 00 0e 00 01 00 01 00 01 00 08 00 01')), 'TRUNCATED', 'attribute past the packet');
  t.equal(code(hex('10 01 00 0e 00 01 00 01 00 01 00 03 00 01')), 'INVALID_SYNTAX', 'attribute Length 3');
  t.equal(code(hex('10 01 00 0a 00 01 00 00 00 01')), 'TRUNCATED', 'half an attribute header');
  t.notOk(decodeCryptoBinding(new Uint8Array(99)).ok);
  t.notOk(decodeCryptoBindingRequest(new Uint8Array(37)).ok);
  t.notOk(decodeStatusInfo(new Uint8Array(7)).ok);
  t.notOk(decodeStatusInfo(new Uint8Array(8 + 65)).ok);
  t.throws(() => encodeDataPacket(new Uint8Array(4092)), RangeError, 'more than 4091 bytes of frame is a bug upstream');
  t.equal(encodeDataPacket(new Uint8Array(4091)).length, MAX_PACKET_LENGTH);
});

/** Any packet the codec can express, reserved bits clear. */
const anyPacket: fc.Arbitrary<SstpPacket> = fc.oneof(
  fc.uint8Array({ maxLength: 4091 }).map((data): SstpPacket => ({ kind: 'data', data })),
  fc
    .record({
      messageType: fc.integer({ min: 0, max: 0xffff }),
      attributes: fc.array(fc.record({ attributeId: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 80 }) }), { maxLength: 6 }),
    })
    .map((c): SstpPacket => ({ kind: 'control', ...c })),
);

t.test('every packet round-trips through encode and decode', async (t) => {
  fc.assert(
    fc.property(anyPacket, (packet) => {
      const bytes = encodeSstpPacket(packet);
      const back = decodeSstpPacket(bytes);
      return back.ok && toHex(encodeSstpPacket(back.value)) === toHex(bytes);
    }),
    { numRuns: 500 },
  );
  t.pass('round trips held');
});

t.test('the framer finds the same packets however the stream is cut, holding at most one packet', async (t) => {
  fc.assert(
    fc.property(fc.array(anyPacket, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }), (packets, cuts) => {
      const wire = Buffer.concat(packets.map(encodeSstpPacket));
      const framer = new SstpFramer();
      const out: string[] = [];
      let at = 0;
      for (let i = 0; at < wire.length; i++) {
        const n = cuts[i % cuts.length]!;
        const r = framer.push(wire.subarray(at, at + n));
        if (r.error || framer.buffered > MAX_PACKET_LENGTH) return false;
        out.push(...r.packets.map(toHex));
        at += n;
      }
      return framer.buffered === 0 && out.join('|') === packets.map((p) => toHex(encodeSstpPacket(p))).join('|');
    }),
    { numRuns: 300 },
  );
  t.pass('framing held');
});

t.test('byte by byte, a 4095-byte packet comes out whole once', async (t) => {
  const packet = encodeDataPacket(Uint8Array.from({ length: 4091 }, (_, i) => i & 0xff));
  const framer = new SstpFramer();
  const got: Uint8Array[] = [];
  for (const byte of packet) got.push(...framer.push(Uint8Array.of(byte)).packets);
  t.equal(got.length, 1);
  t.equal(Buffer.compare(got[0]!, packet), 0);
});

t.test('a broken stream stops the framer for good (§3.1.5.1 delineation failure)', async (t) => {
  const framer = new SstpFramer();
  const r = framer.push(Buffer.concat([V.CALL_CONNECT_REQUEST, hex('17 03 03 00 20')]));
  t.equal(r.packets.length, 1, 'the good packet before the garbage still comes out');
  t.equal(r.error?.code, 'INVALID_MAJOR_VERSION');
  t.equal(framer.push(V.CALL_CONNECT_REQUEST).packets.length, 0, 'nothing after');
  const short = new SstpFramer().push(hex('10 01 00 02'));
  t.equal(short.error?.code, 'INVALID_SYNTAX', 'Length 2');
  const split = new SstpFramer();
  t.same(split.push(hex('10 00')), { packets: [] });
  t.equal(split.push(hex('00 01')).error?.code, 'INVALID_SYNTAX', 'a bad Length split across chunks');
});
