// GRE header (RFC 2784/2890) and the Cisco keepalive packet: vectors both ways, fast-check properties.
import fc from 'fast-check';
import t from 'tap';
import { encodeKeepalive, isKeepaliveReply } from '../../../firmware/gre/cisco-keepalive.ts';
import { decodeGreHeader, encodeGrePacket, GRE_PROTOCOL, greHeaderLength, internetChecksum, type GreHeader } from '../../../firmware/gre/gre-header.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

t.test('vectors: plain, keyed, checksummed and numbered headers', async (t) => {
  const payload = Uint8Array.from([0x45, 0, 0, 20]);
  t.equal(hex(encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv4 }, payload)), '0000080045000014');
  // K bit (0x2000), key 0x0000002a.
  t.equal(hex(encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv4, key: 42 }, payload)), '200008000000002a45000014');
  // K and S: key then sequence number (RFC 2890 §2).
  t.equal(hex(encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv6, key: 1, sequenceNumber: 7 }, new Uint8Array(0))), '300086dd0000000100000007');
  // C: checksum then Reserved1; the sum over the whole packet folds to zero.
  const summed = encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv4, checksum: true }, payload);
  t.equal(hex(summed.subarray(0, 4)), '80000800');
  t.equal(internetChecksum(summed), 0);
  t.match(decodeGreHeader(summed), { ok: true, header: { protocolType: 0x0800, checksum: true } });
  const decoded = decodeGreHeader(Buffer.from('300086dd0000000100000007ff', 'hex'));
  t.match(decoded, { ok: true, header: { protocolType: 0x86dd, key: 1, sequenceNumber: 7 } });
  if (decoded.ok) t.equal(hex(decoded.payload), 'ff');
});

t.test('refusals: short, version 1 (PPTP), routing and reserved bits, a bad checksum', async (t) => {
  t.match(decodeGreHeader(Uint8Array.from([0, 0, 8])), { ok: false, error: 'short' });
  t.match(decodeGreHeader(Buffer.from('20000800000000', 'hex')), { ok: false, error: 'short' }, 'K set, key cut');
  t.match(decodeGreHeader(Buffer.from('3001880b00040001', 'hex')), { ok: false, error: 'version' });
  t.match(decodeGreHeader(Buffer.from('40000800', 'hex')), { ok: false, error: 'reserved' }, 'R bit');
  t.match(decodeGreHeader(Buffer.from('00080800', 'hex')), { ok: false, error: 'reserved' });
  const summed = encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv4, checksum: true }, Uint8Array.from([1, 2, 3]));
  summed[summed.length - 1] = (summed[summed.length - 1] ?? 0) ^ 1;
  t.match(decodeGreHeader(summed), { ok: false, error: 'checksum' });
});

const header = fc.record({
  protocolType: fc.integer({ min: 0, max: 0xffff }),
  checksum: fc.option(fc.constant(true), { nil: undefined }),
  key: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
  sequenceNumber: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
}).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as unknown as GreHeader);

t.test('property: encode then decode gives the header and payload back', async (t) => {
  fc.assert(fc.property(header, fc.uint8Array({ maxLength: 64 }), (h, payload) => {
    const packet = encodeGrePacket(h, payload);
    const d = decodeGreHeader(packet);
    return packet.length === greHeaderLength(h) + payload.length && d.ok && JSON.stringify(d.header) === JSON.stringify(h) && hex(d.payload) === hex(payload);
  }), { numRuns: 500 });
  t.pass();
});

t.test('property: random and mutated input never throws', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
    decodeGreHeader(bytes);
    isKeepaliveReply(bytes, 5);
  }), { numRuns: 1000 });
  fc.assert(fc.property(header, fc.uint8Array({ maxLength: 16 }), fc.nat(), fc.nat(255), (h, payload, at, value) => {
    const packet = encodeGrePacket(h, payload);
    if (packet.length) packet[at % packet.length] = value;
    const d = decodeGreHeader(new Uint8Array(packet.subarray(0, packet.length - (at % 3))));
    return d.ok === true || typeof d.error === 'string';
  }), { numRuns: 1000 });
  t.pass();
});

t.test('the Cisco keepalive: inner IPv4 from the peer back to us, proto 47, GRE type 0 with our key', async (t) => {
  const inner = encodeKeepalive('192.0.2.1', '192.0.2.2', 42, 0x1234);
  // 45 00 len=0x0020 id ... ttl 255 proto 47, src peer, dst us.
  t.equal(hex(inner.subarray(0, 10)), '4500001c12340000ff2f');
  t.equal(hex(inner.subarray(12, 20)), 'c0000202c0000201');
  t.equal(internetChecksum(inner.subarray(0, 20)), 0, 'IPv4 header checksum');
  t.equal(hex(inner.subarray(20)), '200000000000002a');
  t.ok(isKeepaliveReply(inner.subarray(20), 42), 'what comes back (the inner GRE) is recognised');
  t.notOk(isKeepaliveReply(inner.subarray(20), 43), 'not with another key');
  t.notOk(isKeepaliveReply(encodeGrePacket({ protocolType: GRE_PROTOCOL.ipv4, key: 42 }, new Uint8Array(0)), 42), 'not data');
  t.equal(hex(encodeKeepalive('10.0.0.1', '10.0.0.2').subarray(20)), '00000000', 'unkeyed');
});
