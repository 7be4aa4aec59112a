// The IKEv2 message codec: round trips over generated messages, and hostile bytes never throw.
import fc from 'fast-check';
import t from 'tap';
import { decodeIkeMessage, encodeIkeMessage, type IkePayload } from '../../../firmware/ike/message.ts';
import { ExchangeType, NotifyType } from '../../../firmware/ike/registry/numbers.ts';

const header = { initiatorSpi: 0x0102030405060708n, responderSpi: 0n, exchangeType: ExchangeType.IKE_SA_INIT, initiator: true, response: false, higherVersion: false, messageId: 0 };
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

const transform = fc.record({ type: fc.integer({ min: 1, max: 5 }), id: fc.integer({ min: 0, max: 65535 }) }, { requiredKeys: ['type', 'id'] })
  .chain((t) => fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }).map((k) => (k === undefined ? t : { ...t, keyLength: k })));
const payload: fc.Arbitrary<IkePayload> = fc.oneof(
  fc.array(fc.record({ number: fc.integer({ min: 1, max: 255 }), protocolId: fc.integer({ min: 1, max: 3 }), spi: bytes(0, 8), transforms: fc.array(transform, { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 3 })
    .map((proposals) => ({ kind: 'SA' as const, proposals })),
  fc.record({ group: fc.integer({ min: 0, max: 65535 }), data: bytes(0, 300) }).map((ke) => ({ kind: 'KE' as const, ke })),
  bytes(16, 256).map((nonce) => ({ kind: 'Nonce' as const, nonce })),
  fc.record({ protocolId: fc.integer({ min: 0, max: 3 }), type: fc.integer({ min: 1, max: 65535 }), spi: bytes(0, 8), data: bytes(0, 64) }).map((notify) => ({ kind: 'N' as const, notify })),
  bytes(0, 40).map((vendorId) => ({ kind: 'V' as const, vendorId })),
);

t.test('property: encode then decode gives back the message', async (t) => {
  fc.assert(
    fc.property(fc.array(payload, { maxLength: 8 }), (payloads) => {
      const encoded = encodeIkeMessage(header, payloads);
      const decoded = decodeIkeMessage(encoded);
      if (!decoded.ok) return false;
      return Buffer.from(encodeIkeMessage(decoded.value.header, decoded.value.payloads)).equals(Buffer.from(encoded)) && decoded.value.payloads.length === payloads.length;
    }),
    { numRuns: 300 },
  );
  t.pass('300 generated messages');
});

t.test('property: random bytes and mutated messages never throw', async (t) => {
  const sample = encodeIkeMessage(header, [
    { kind: 'SA', proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(), transforms: [{ type: 1, id: 12, keyLength: 256 }, { type: 4, id: 14 }] }] },
    { kind: 'N', notify: { protocolId: 0, type: NotifyType.NAT_DETECTION_SOURCE_IP, spi: new Uint8Array(), data: new Uint8Array(20) } },
  ]);
  let errors = 0;
  fc.assert(
    fc.property(fc.oneof(bytes(0, 200), fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
      const m = sample.slice();
      for (const [i, v] of edits) m[i] = v;
      return m;
    })), (input) => {
      const r = decodeIkeMessage(input);
      if (!r.ok) errors++;
      return true;
    }),
    { numRuns: 2000 },
  );
  t.ok(errors > 0, `hostile inputs answered with errors, not throws (${errors} of 2000)`);
});

t.test('malformed messages name the problem and where', async (t) => {
  const good = encodeIkeMessage(header, [{ kind: 'Nonce', nonce: new Uint8Array(32) }]);
  t.match(decodeIkeMessage(good.subarray(0, 20)), { ok: false, error: { code: 'TRUNCATED' } });
  const v1 = good.slice();
  v1[17] = 0x10;
  t.match(decodeIkeMessage(v1), { ok: false, error: { code: 'INVALID_MAJOR_VERSION', offset: 17 } });
  const long = good.slice();
  long[27] = (long[27] as number) + 4;
  t.match(decodeIkeMessage(long), { ok: false, error: { code: 'INVALID_SYNTAX', offset: 24 } });
  const shortNonce = encodeIkeMessage(header, [{ kind: 'raw', type: 40, critical: false, body: new Uint8Array(8) }]);
  t.match(decodeIkeMessage(shortNonce), { ok: false, error: { code: 'INVALID_SYNTAX', offset: 32 } }, 'an 8-byte nonce, located in the message');
  const critical = encodeIkeMessage(header, [{ kind: 'raw', type: 200, critical: true, body: new Uint8Array(4) }]);
  t.match(decodeIkeMessage(critical), { ok: false, error: { code: 'UNSUPPORTED_CRITICAL_PAYLOAD', offset: 28 } }, 'RFC 7296 §2.5');
  const ignorable = encodeIkeMessage(header, [{ kind: 'raw', type: 200, critical: false, body: new Uint8Array(4) }]);
  t.match(decodeIkeMessage(ignorable), { ok: true, value: { payloads: [{ kind: 'raw', type: 200 }] } }, 'an unknown non-critical payload is kept');
  const trailing = new Uint8Array([...good, 0, 0, 0, 0]);
  trailing[27] = (trailing[27] as number) + 4;
  t.match(decodeIkeMessage(trailing), { ok: false, error: { code: 'INVALID_SYNTAX' } }, 'bytes after the last payload');
});

t.test('the SK payload ends the clear chain and remembers what is inside', async (t) => {
  const m = encodeIkeMessage({ ...header, exchangeType: ExchangeType.IKE_AUTH, messageId: 1 }, [{ kind: 'encrypted', type: 46, inner: 35, body: new Uint8Array(48) }]);
  t.equal(m[16], 46, 'header names SK');
  t.equal(m[28], 35, 'SK names IDi inside');
  t.match(decodeIkeMessage(m), { ok: true, value: { payloads: [{ kind: 'encrypted', type: 46, inner: 35 }] } });
});
