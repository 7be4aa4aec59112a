// L2TPv2 decoders under fast-check: generated packets and control messages round trip (hidden AVPs
// included); random bytes and mutated valid messages never throw and are refused with a code or
// decoded into something that re-encodes.
import fc from 'fast-check';
import t from 'tap';
import { decodeL2tpPacket, encodeL2tpPacket, type L2tpHeader } from '../../../firmware/l2tp/header.ts';
import { decodeAvps } from '../../../firmware/l2tp/avp.ts';
import { AVP_SPECS, MessageType, type AvpField, type L2tpAvps, type MessageTypeValue } from '../../../firmware/l2tp/avp-types.ts';
import { decodeControlMessage, encodeControlMessage, REQUIRED_AVPS } from '../../../firmware/l2tp/control-message.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const text = (min: number) => fc.string({ minLength: min, maxLength: 30 });

const header: fc.Arbitrary<L2tpHeader> = fc.oneof(
  fc.record({ type: fc.constant('control' as const), tunnelId: u16, sessionId: u16, ns: u16, nr: u16 }),
  fc.record({ type: fc.constant('data' as const), tunnelId: u16, sessionId: u16, lengthPresent: fc.boolean(), priority: fc.boolean(), sequence: fc.record({ ns: u16, nr: u16 }), offsetSize: fc.integer({ min: 0, max: 20 }) }, { requiredKeys: ['type', 'tunnelId', 'sessionId', 'lengthPresent', 'priority'] }),
);

const valueOf = (field: AvpField): fc.Arbitrary<unknown> => {
  const s = AVP_SPECS.find((x) => x.field === field)!;
  switch (s.shape) {
    case 'u16': return u16;
    case 'u32': return u32;
    case 'u64': return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'empty': return fc.constant(true);
    case 'protocolVersion': return fc.record({ version: fc.nat(255), revision: fc.nat(255) });
    case 'accm': return fc.record({ sendAccm: u32, receiveAccm: u32 });
    case 'callErrors': return fc.record({ crcErrors: u32, framingErrors: u32, hardwareOverruns: u32, bufferOverruns: u32, timeoutErrors: u32, alignmentErrors: u32 });
    case 'resultCode': return fc.oneof(fc.record({ result: u16 }), fc.record({ result: u16, error: u16 }), fc.record({ result: u16, error: u16, message: text(1) }));
    case 'q931': return fc.record({ causeCode: u16, causeMessage: fc.nat(255), advisory: text(1) }, { requiredKeys: ['causeCode', 'causeMessage'] });
    case 'string': return text(s.min ?? 0);
    case 'bytes': return s.exact !== undefined ? bytes(s.exact, s.exact) : bytes(s.min ?? 0, 40);
  }
};
const avpsArb: fc.Arbitrary<L2tpAvps> = fc.record(Object.fromEntries(AVP_SPECS.map((s) => [s.field, valueOf(s.field)])), { requiredKeys: [] }) as fc.Arbitrary<L2tpAvps>;
const messageTypes = Object.values(MessageType) as MessageTypeValue[];
/** A message with its required AVPs filled in, any others at random. */
const message = fc.tuple(fc.constantFrom(...messageTypes), avpsArb, avpsArb).map(([type, extra, required]) => {
  const need = Object.fromEntries(REQUIRED_AVPS[type].map((f) => [f, (required as Record<string, unknown>)[f] ?? fc.sample(valueOf(f), { numRuns: 1, seed: 1 })[0]]));
  return { type, avps: { ...extra, ...need } as L2tpAvps };
});
const secret = new Secret<Uint8Array>(Buffer.from('fuzz secret'));

t.test('property: headers round trip', async (t) => {
  fc.assert(fc.property(header, bytes(0, 64), (h, payload) => {
    const encoded = encodeL2tpPacket(h, payload);
    const d = decodeL2tpPacket(encoded);
    return d.ok && Buffer.from(d.value.payload).equals(Buffer.from(payload)) && Buffer.from(encodeL2tpPacket(d.value.header, d.value.payload)).equals(Buffer.from(encoded));
  }), { numRuns: 500 });
  t.pass('500 headers');
});

t.test('property: control messages round trip, hidden AVPs included', async (t) => {
  fc.assert(fc.property(message, fc.subarray(AVP_SPECS.map((s) => s.field)), bytes(1, 32), ({ type, avps }, hide, randomVector) => {
    const encoded = encodeControlMessage(type, avps, { hide: { secret, randomVector, fields: hide } });
    const d = decodeControlMessage(encoded, { secret });
    if (!d.ok || d.value.kind !== 'message') return false;
    return d.value.messageType === type && Buffer.from(encodeControlMessage(type, d.value.avps)).equals(Buffer.from(encodeControlMessage(type, avps)));
  }), { numRuns: 300 });
  t.pass('300 messages');
});

t.test('property: random bytes never throw', async (t) => {
  fc.assert(fc.property(bytes(0, 200), (b) => {
    const p = decodeL2tpPacket(b);
    const a = decodeAvps(b);
    const m = decodeControlMessage(b, { secret });
    return [p, a, m].every((r) => r.ok || typeof r.error.code === 'string');
  }), { numRuns: 2000 });
  t.pass('2000 random inputs');
});

t.test('property: mutated valid messages never throw; what decodes re-encodes and decodes the same', async (t) => {
  fc.assert(fc.property(message, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(8), ({ type, avps }, flips, cut) => {
    const m = Buffer.from(encodeControlMessage(type, avps, { hide: { secret, randomVector: Uint8Array.of(1, 2, 3), fields: ['hostName', 'assignedSessionId'] } }));
    for (const [at, v] of flips) m[at % m.length] = v;
    const d = decodeControlMessage(m.subarray(0, Math.max(0, m.length - cut)), { secret });
    if (!d.ok || d.value.kind !== 'message') return true;
    const again = decodeControlMessage(encodeControlMessage(d.value.messageType, d.value.avps, { vendorAvps: d.value.vendorAvps }));
    return again.ok && again.value.kind === 'message' && Buffer.from(encodeControlMessage(again.value.messageType, again.value.avps)).equals(Buffer.from(encodeControlMessage(d.value.messageType, d.value.avps)));
  }), { numRuns: 1000 });
  t.pass('1000 mutated messages');
});
