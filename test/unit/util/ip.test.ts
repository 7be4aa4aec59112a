import fc from 'fast-check';
import t from 'tap';
import { parseIp, parsePrefix } from '../../../firmware/util/ip.ts';

t.test('IPv4 and IPv6 forms', async (t) => {
  t.same([...parseIp('192.0.2.1')!.bytes], [192, 0, 2, 1]);
  t.equal(parseIp('2001:db8::1')!.bytes.toString('hex'), '20010db8000000000000000000000001');
  t.equal(parseIp('::')!.bytes.toString('hex'), '0'.repeat(32));
  t.equal(parseIp('::ffff:192.0.2.1')!.bytes.toString('hex'), '00000000000000000000ffffc0000201');
  t.equal(parseIp('fe80::1%eth0')!.bytes.toString('hex'), 'fe800000000000000000000000000001');
  for (const bad of ['', '1.2.3', '256.0.0.1', '2001:db8:::1', 'host.example', '1.2.3.4/8']) t.equal(parseIp(bad), undefined, bad);
});

t.test('prefixes', async (t) => {
  t.match(parsePrefix('10.0.0.0/8'), { family: 4, length: 8 });
  t.match(parsePrefix('2001:db8::/32'), { family: 6, length: 32 });
  t.match(parsePrefix('192.0.2.7'), { length: 32 });
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/x', '::/129']) t.equal(parsePrefix(bad), undefined, bad);
});

t.test('property: every IPv6 address node can format parses back to the same 16 bytes', async (t) => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const parsed = parseIp(text);
      if (!parsed) return false;
      const again = parseIp(parsed.bytes.toString('hex').replace(/(.{4})(?!$)/g, '$1:'));
      return again !== undefined && again.bytes.equals(parsed.bytes);
    }),
  );
  t.pass('held for generated addresses');
});
