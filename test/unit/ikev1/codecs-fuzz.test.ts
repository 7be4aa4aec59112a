// ISAKMP decoders under fast-check: generated messages round trip; random bytes and mutated valid
// messages never throw and are either refused with a code or decoded into something that re-encodes.
import fc from 'fast-check';
import t from 'tap';
import { decodeIsakmpMessage, encodeIsakmpMessage, decodePayloads, type Ikev1Payload } from '../../../firmware/ikev1/message.ts';
import type { DataAttribute } from '../../../firmware/ikev1/payloads/attributes.ts';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const attribute: fc.Arbitrary<DataAttribute> = fc.oneof(
  fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), basic: fc.constant(true as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), basic: fc.constant(false as const), value: bytes(0, 40) }),
);
const transform = fc.record({ number: fc.integer({ min: 0, max: 255 }), id: fc.integer({ min: 0, max: 255 }), attributes: fc.array(attribute, { maxLength: 8 }) });
const proposal = fc.record({ number: fc.integer({ min: 0, max: 255 }), protocolId: fc.integer({ min: 0, max: 255 }), spi: bytes(0, 16), transforms: fc.array(transform, { minLength: 1, maxLength: 4 }) });
const address = fc.oneof(fc.record({ idType: fc.constant(1), address: bytes(4, 4) }), fc.record({ idType: fc.constant(5), address: bytes(16, 16) }));
const idData = fc.oneof(
  bytes(4, 4).map((data) => ({ idType: 1, data })), bytes(8, 8).map((data) => ({ idType: 4, data })), bytes(32, 32).map((data) => ({ idType: 8, data })),
  bytes(1, 60).map((data) => ({ idType: 2, data })), bytes(0, 60).map((data) => ({ idType: 9, data })),
);
const payload: fc.Arbitrary<Ikev1Payload> = fc.oneof(
  fc.array(proposal, { minLength: 1, maxLength: 3 }).map((proposals) => ({ kind: 'SA' as const, sa: { doi: 1, situation: 1, proposals } })),
  fc.tuple(fc.constantFrom('KE' as const, 'HASH' as const, 'SIG' as const, 'NONCE' as const, 'VID' as const), bytes(0, 200)).map(([kind, data]) => ({ kind, data })),
  fc.tuple(idData, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65535 })).map(([d, protocolId, port]) => ({ kind: 'ID' as const, id: { ...d, protocolId, port } })),
  fc.record({ encoding: fc.integer({ min: 0, max: 255 }), data: bytes(0, 100) }).map((cert) => ({ kind: 'CERT' as const, cert })),
  fc.record({ certType: fc.integer({ min: 0, max: 255 }), authority: bytes(0, 60) }).map((request) => ({ kind: 'CR' as const, request })),
  fc.record({ doi: fc.constant(1), protocolId: fc.integer({ min: 0, max: 255 }), type: fc.integer({ min: 0, max: 65535 }), spi: bytes(0, 16), data: bytes(0, 40) }).map((notification) => ({ kind: 'N' as const, notification })),
  fc.tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 4 })).chain(([size, n]) => fc.array(bytes(size, size), { minLength: n, maxLength: n }).map((spis) => ({ kind: 'D' as const, delete: { doi: 1, protocolId: 3, spiSize: size, spis } }))),
  fc.tuple(bytes(0, 48), fc.boolean()).map(([data, draft]) => ({ kind: 'NAT-D' as const, data, ...(draft ? { draft } : {}) })),
  fc.tuple(address, fc.boolean()).map(([natOa, draft]) => ({ kind: 'NAT-OA' as const, natOa, ...(draft ? { draft } : {}) })),
);
const header = { initiatorCookie: 0x0102030405060708n, responderCookie: 0x1112131415161718n, exchangeType: 2, messageId: 0 };

t.test('property: encode then decode then encode gives the same bytes', async (t) => {
  fc.assert(fc.property(fc.array(payload, { maxLength: 8 }), (payloads) => {
    const encoded = encodeIsakmpMessage(header, payloads);
    const d = decodeIsakmpMessage(encoded);
    if (!d.ok || d.value.encrypted) return false;
    return d.value.payloads.length === payloads.length && Buffer.from(encodeIsakmpMessage(header, d.value.payloads)).equals(Buffer.from(encoded));
  }), { numRuns: 400 });
  t.pass('400 generated messages');
});

t.test('property: random bytes never throw', async (t) => {
  let refused = 0;
  fc.assert(fc.property(bytes(0, 400), fc.integer({ min: 0, max: 255 }), (b, first) => {
    if (!decodePayloads(first, b, 28, true).ok) refused++;
    return decodeIsakmpMessage(b) !== undefined;
  }), { numRuns: 2000 });
  t.ok(refused > 0, `${refused} random chains refused with a code`);
});

t.test('property: mutated valid messages never throw; what decodes re-encodes', async (t) => {
  let refused = 0;
  fc.assert(fc.property(fc.array(payload, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(), (payloads, edits, cut) => {
    const m = Buffer.from(encodeIsakmpMessage(header, payloads));
    for (const [at, value] of edits) m[28 + (at % (m.length - 28 || 1))] = value;
    const sliced = cut % 4 === 0 ? m.subarray(0, m.length - (cut % 9)) : m;
    const d = decodeIsakmpMessage(sliced);
    if (!d.ok) { refused++; return typeof d.error.code === 'string' && d.error.offset >= 0; }
    if (d.value.encrypted) return true;
    encodeIsakmpMessage(header, d.value.payloads);
    return true;
  }), { numRuns: 2000 });
  t.ok(refused > 0, `${refused} mutated messages refused with a code`);
});
