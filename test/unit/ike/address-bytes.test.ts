// The hot per-message helpers rewritten for speed (issue 23) keep their answers: a dotted quad read
// in one pass gives what the split-and-map reading gave for any text, and NAT detection's hash over
// IPv4 is RFC 7296 §2.23's SHA-1(SPIi | SPIr | IP | port), known answer computed from the layout.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { natHash } from '../../../firmware/ike/engine/payload-helpers.ts';
import { ipv4Bytes } from '../../../firmware/ike/payloads/identity.ts';

const splitReading = (s: string) => Uint8Array.from(s.split('.').map(Number));

t.test('a dotted quad reads as its four bytes', async (t) => {
  t.same([...ipv4Bytes('192.0.2.1')], [192, 0, 2, 1]);
  t.same([...ipv4Bytes('0.0.0.0')], [0, 0, 0, 0]);
  t.same([...ipv4Bytes('255.255.255.255')], [255, 255, 255, 255]);
  fc.assert(fc.property(fc.ipV4(), (a) => Buffer.from(ipv4Bytes(a)).equals(Buffer.from(a.split('.').map(Number)))));
});

t.test('any other text reads as the split-and-map reading did', async (t) => {
  for (const odd of ['1.2.3', '1.2.3.4.5', '', '1..2.3', '300.1.1.1', '1.2.3.04', '0x1.2.3.4', ' 1.2.3.4', '1.2.3.4 ', '1234.1.1.1']) {
    t.same([...ipv4Bytes(odd)], [...splitReading(odd)], JSON.stringify(odd));
  }
  fc.assert(fc.property(fc.array(fc.constantFrom('0', '1', '9', '.', 'a', ' ', '-'), { maxLength: 20 }).map((cs) => cs.join('')), (s) => Buffer.from(ipv4Bytes(s)).equals(Buffer.from(splitReading(s)))), { numRuns: 2000 });
});

t.test('NAT detection over IPv4: SHA-1(SPIi | SPIr | the 4 address bytes | port)', async (t) => {
  const spiI = 0x0123456789abcdefn, spiR = 0n;
  const expected = createHash('sha1').update(Buffer.from('0123456789abcdef' + '0000000000000000' + 'c0000201' + '01f4', 'hex')).digest();
  t.same(Buffer.from(natHash(spiI, spiR, { address: '192.0.2.1', port: 500 })), expected);
  t.notSame(Buffer.from(natHash(spiI, spiR, { address: '192.0.2.1', port: 4500 })), expected, 'another port differs');
  t.notSame(Buffer.from(natHash(spiI, 1n, { address: '192.0.2.1', port: 500 })), expected, 'another SPI differs');
});
