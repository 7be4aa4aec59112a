// IKEv2 over IPv6 (issue 24), the engine's pure parts: NAT detection hashes over IPv6 addresses
// (RFC 7296 §2.23, known answers computed by hand from the RFC's layout), and the per-source rate
// limit grouping an IPv6 peer by its /64 while the cookie stays bound to the exact address.
import { createHash } from 'node:crypto';
import t from 'tap';
import { CookieGuard } from '../../../firmware/ike/engine/cookies.ts';
import { natHash } from '../../../firmware/ike/engine/payload-helpers.ts';

t.test('NAT detection over IPv6: SHA-1(SPIi | SPIr | the 16 address bytes | port)', async (t) => {
  const spiI = 0x0123456789abcdefn, spiR = 0xfedcba9876543210n;
  const expected = createHash('sha1').update(Buffer.from('0123456789abcdeffedcba9876543210' + '20010db8000000000000000000000001' + '1194', 'hex')).digest();
  t.same(Buffer.from(natHash(spiI, spiR, { address: '2001:db8::1', port: 4500 })), expected, 'the compressed form expands to 16 bytes');
  t.same(Buffer.from(natHash(spiI, spiR, { address: '2001:0db8:0000::0001', port: 4500 })), expected, 'any spelling of the address hashes alike');
  t.notSame(Buffer.from(natHash(spiI, spiR, { address: '2001:db8::2', port: 4500 })), expected, 'another address (NAT66, NPTv6) differs');
  t.notSame(Buffer.from(natHash(spiI, spiR, { address: '2001:db8::1', port: 500 })), expected, 'another port differs');
});

t.test('the per-source rate counts an IPv6 /64 as one source', async (t) => {
  const guard = new CookieGuard({ threshold: 100, halfOpenLimit: 5000, perSourceRate: 2, secretLifetimeMs: 60_000 }, (n) => new Uint8Array(n).fill(7));
  const at = (address: string) => ({ address, port: 500 });
  const burst = [1, 2, 3, 4].map((i) => guard.allow(at(`2001:db8:1:2::${i}`), 0));
  t.same(burst, [true, true, true, true], 'a burst of twice the rate from one /64, whatever its addresses');
  t.notOk(guard.allow(at('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), 0), 'a fifth from a fresh address of the same /64 is over the rate');
  t.ok(guard.allow(at('2001:db8:1:3::1'), 0), 'the next /64 is another source');
  t.ok(guard.allow(at('192.0.2.1'), 0), 'IPv4 peers are still one address each');
  t.ok(guard.allow(at('2001:db8:1:2::1'), 1000), 'the /64 gets its tokens back with time');
  const ni = new Uint8Array(32).fill(1);
  const cookie = guard.make(ni, at('2001:db8:1:2::1'), 5n, 0);
  t.ok(guard.check(cookie, ni, at('2001:db8:1:2::1'), 5n, 0), 'a cookie comes back from its address');
  t.notOk(guard.check(cookie, ni, at('2001:db8:1:2::2'), 5n, 0), 'but not from another address of the /64: it proves that address can receive');
});

t.test('MOBIKE on a dual-stack WAN: the other family\'s address is announced (RFC 4555 §3.6), never the one in use', async (t) => {
  const { additionalAddresses } = await import('../../../firmware/ike/engine/mobike.ts');
  const { NotifyType } = await import('../../../firmware/ike/registry/numbers.ts');
  const both = ['192.0.2.2', '2001:db8:1::2'];
  const overV4 = additionalAddresses(both, '192.0.2.2');
  t.same(overV4.map((p) => p.kind === 'N' && [p.notify.type, Buffer.from(p.notify.data).toString('hex')]), [[NotifyType.ADDITIONAL_IP6_ADDRESS, '20010db8000100000000000000000002']], 'an SA over IPv4 learns the IPv6 address, 16 bytes');
  const overV6 = additionalAddresses(both, '2001:db8:1::2');
  t.same(overV6.map((p) => p.kind === 'N' && [p.notify.type, Buffer.from(p.notify.data).toString('hex')]), [[NotifyType.ADDITIONAL_IP4_ADDRESS, 'c0000202']], 'an SA over IPv6 learns the IPv4 address, 4 bytes');
  t.same(additionalAddresses(['192.0.2.2'], '192.0.2.2'), [], 'a single-stack WAN announces nothing');
  t.same(additionalAddresses(undefined, '192.0.2.2'), []);
});
