// The DNS message codec and TSIG (RFC 1035, 2136, 8945): a hand-annotated UPDATE both ways, the TSIG
// MAC recomputed byte by byte from RFC 8945's layout, round trips and hostile input as properties.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { decodeMessage, decodeName, encodeMessage, encodeName, type DnsMessage, type DnsRecord } from '../../../firmware/ddns/dns-message.ts';
import { signedUpdate, updateMessage } from '../../../firmware/ddns/rfc2136-update.ts';
import { decodeTsigRdata, encodeTsigRdata, signRequest, verifyResponse, type TsigKey } from '../../../firmware/ddns/tsig.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+|#[^\n]*/g, ''), 'hex');
const key: TsigKey = { name: 'postern-key', algorithm: 'hmac-sha256', secret: new Secret(Buffer.from('0123456789abcdef0123456789abcdef')) };

t.test('an RFC 2136 UPDATE for vpn.example.com A 203.0.113.5, byte by byte', async (t) => {
  const wire = hex(`
    1234 2800 0001 0000 0002 0000            # ID, opcode UPDATE (5<<11), ZO=1 PR=0 UP=2 AR=0
    07 6578616d706c65 03 636f6d 00 0006 0001 # zone example.com SOA IN
    03 76706e 07 6578616d706c65 03 636f6d 00 # vpn.example.com
      0001 00ff 00000000 0000                # A ANY ttl 0 rdlength 0: delete the RRset
    03 76706e 07 6578616d706c65 03 636f6d 00
      0001 0001 0000003c 0004 cb007105       # A IN ttl 60 203.0.113.5: add
  `);
  const m = updateMessage(0x1234, { zone: 'example.com', name: 'vpn.example.com', address: '203.0.113.5', ttl: 60 });
  t.same(encodeMessage(m), wire, 'encodes to the annotated bytes');
  const d = decodeMessage(wire);
  t.ok(d.ok);
  if (d.ok) t.match(d.value, { id: 0x1234, opcode: 5, qr: false, questions: [{ name: 'example.com', type: 6, class: 1 }], authorities: [{ name: 'vpn.example.com', type: 1, class: 255, ttl: 0 }, { type: 1, class: 1, ttl: 60 }] });
  t.same(updateMessage(1, { zone: 'example.com', name: 'vpn.example.com', address: '2001:db8::5', ttl: 60 }).authorities[1]?.rdata, hex('20010db8000000000000000000000005'), 'AAAA for IPv6');
});

t.test('names: compression pointers followed backwards only, lengths bounded', async (t) => {
  const m = hex('03 777777 c0 06 00 03 636f6d 00'); // "www" + pointer to 6 ("com")… pointer forward
  t.notOk(decodeName(m, 0).ok, 'a forward pointer is refused');
  const back = hex('03 636f6d 00 03 777777 c0 00');
  t.match(decodeName(back, 5), { ok: true, value: { name: 'www.com', next: 11 } });
  t.notOk(decodeName(hex('c0 00'), 0).ok, 'a pointer to itself is refused');
  t.notOk(decodeName(hex('40'), 0).ok, 'reserved label types are refused');
  t.throws(() => encodeName(`${'a'.repeat(64)}.com`), RangeError);
  t.throws(() => encodeName(Array.from({ length: 60 }, () => 'abcd').join('.')), RangeError);
});

t.test('TSIG: the request MAC is HMAC-SHA256 over the message and the RFC 8945 §4.3.3 variables', async (t) => {
  const m = updateMessage(0xbeef, { zone: 'example.com', name: 'vpn.example.com', address: '203.0.113.5', ttl: 60 });
  const now = 1_700_000_000;
  const { wire, mac } = signRequest(m, key, now);
  // The variables written out by hand: key name, CLASS ANY, TTL 0, algorithm, time (48 bits), fudge 300, error 0, other len 0.
  const variables = hex(`
    0b 706f737465726e2d6b6579 00   # postern-key
    00ff 00000000                  # CLASS ANY, TTL 0
    0b 686d61632d736861323536 00   # hmac-sha256
    0000 6553f100                  # time signed 1700000000
    012c 0000 0000                 # fudge 300, error 0, other len 0
  `);
  const expected = createHmac('sha256', key.secret.reveal()).update(encodeMessage(m)).update(variables).digest();
  t.same(mac, expected);
  const d = decodeMessage(wire);
  t.ok(d.ok);
  if (!d.ok) return;
  const tsig = d.value.additionals.at(-1)!;
  t.match(tsig, { name: 'postern-key', type: 250, class: 255, ttl: 0 });
  t.match(decodeTsigRdata(tsig.rdata), { ok: true, value: { algorithm: 'hmac-sha256', timeSigned: now, fudge: 300, mac: expected, originalId: 0xbeef, error: 0 } });
  t.same(wire.subarray(0, 12).readUInt16BE(10), 1, 'ARCOUNT counts the TSIG record');
});

/** A server's answer signed as RFC 8945 §4.3.1 says (request MAC first), built independently here. */
function answer(id: number, rcode: number, requestMac: Buffer, timeSigned: number, signWith = key.secret.reveal()): Buffer {
  const header = Buffer.from([id >> 8, id & 0xff, 0xa8, rcode, 0, 1, 0, 0, 0, 0, 0, 0]); // QR, UPDATE
  const zone = hex('07 6578616d706c65 03 636f6d 00 0006 0001');
  const variables = Buffer.concat([hex('0b 706f737465726e2d6b6579 00 00ff 00000000 0b 686d61632d736861323536 00'), Buffer.from([0, 0, timeSigned >>> 24, (timeSigned >>> 16) & 0xff, (timeSigned >>> 8) & 0xff, timeSigned & 0xff, 0x01, 0x2c, 0, 0, 0, 0])]);
  const mac = createHmac('sha256', signWith).update(Buffer.from([0, requestMac.length])).update(requestMac).update(header).update(zone).update(variables).digest();
  const tsig: DnsRecord = { name: 'postern-key', type: 250, class: 255, ttl: 0, rdata: encodeTsigRdata({ algorithm: 'hmac-sha256', timeSigned, fudge: 300, mac, originalId: id, error: 0, otherData: Buffer.alloc(0) }) };
  const message: DnsMessage = { id, qr: true, opcode: 5, aa: false, tc: false, rd: false, ra: false, rcode, questions: [{ name: 'example.com', type: 6, class: 1 }], answers: [], authorities: [], additionals: [tsig] };
  return encodeMessage(message);
}

t.test('TSIG: the answer is checked against the request\'s MAC, the key, and the time', async (t) => {
  const now = 1_700_000_000;
  const u = signedUpdate(0x4242, { zone: 'example.com', name: 'vpn.example.com', address: '203.0.113.5', ttl: 60 }, key, now);
  const mac = decodeTsigRdata(decodeMessage(u.wire).ok ? (decodeMessage(u.wire) as { value: DnsMessage }).value.additionals.at(-1)!.rdata : Buffer.alloc(0));
  const requestMac = mac.ok ? mac.value.mac : Buffer.alloc(0);
  t.equal(u.check(answer(0x4242, 0, requestMac, now), now), undefined, 'a signed NOERROR: applied');
  t.match(u.check(answer(0x4242, 5, requestMac, now), now), /REFUSED/, 'a signed REFUSED says so');
  t.match(u.check(answer(0x4242, 0, Buffer.alloc(32), now), now), /does not verify/, 'an answer to another request (other request MAC)');
  t.match(u.check(answer(0x4242, 0, requestMac, now, Buffer.from('another key')), now), /does not verify/, 'signed with another secret');
  t.match(u.check(answer(0x4242, 0, requestMac, now - 301), now), /outside the fudge/, 'too old');
  const bytes = answer(0x4242, 0, requestMac, now);
  bytes[13] = bytes[13]! ^ 1; // the zone name's first letter
  t.match(u.check(bytes, now), /does not verify/, 'one changed byte');
  const unsigned = Buffer.from([0x42, 0x42, 0xa8, 0x09, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.match(u.check(unsigned, now), /unsigned answer \(NOTAUTH\)/, 'an unsigned refusal is named');
  t.match(verifyResponse(Buffer.alloc(3), key, requestMac, now), { ok: false, error: /malformed/ });
});

const name = fc.array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));
const rr = fc.record({ name, type: fc.integer({ min: 0, max: 0xffff }), class: fc.integer({ min: 0, max: 0xffff }), ttl: fc.integer({ min: 0, max: 0x7fffffff }), rdata: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) });
const message = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }), qr: fc.boolean(), opcode: fc.integer({ min: 0, max: 15 }), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(), ra: fc.boolean(), rcode: fc.integer({ min: 0, max: 15 }),
  questions: fc.array(fc.record({ name, type: fc.integer({ min: 0, max: 0xffff }), class: fc.integer({ min: 0, max: 0xffff }) }), { maxLength: 3 }),
  answers: fc.array(rr, { maxLength: 3 }), authorities: fc.array(rr, { maxLength: 3 }), additionals: fc.array(rr, { maxLength: 3 }),
});

t.test('properties: round trip; random and mutated bytes never throw', async (t) => {
  fc.assert(fc.property(message, (m) => {
    const d = decodeMessage(encodeMessage(m));
    if (!d.ok) return false;
    const { lastAdditionalAt: _, ...rest } = d.value;
    t.same(rest, m);
    return true;
  }), { numRuns: 200 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decodeMessage(b)));
  const base = signRequest(updateMessage(7, { zone: 'example.com', name: 'vpn.example.com', address: '203.0.113.5', ttl: 60 }), key, 1_700_000_000).wire;
  fc.assert(fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: base.length }), (i, v, cut) => {
    const b = Buffer.from(base);
    b[i] = v;
    void decodeMessage(b.subarray(0, cut));
    void verifyResponse(b, key, Buffer.alloc(32), 1_700_000_000);
  }), { numRuns: 2000 });
});
