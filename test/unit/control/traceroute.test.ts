// Traceroute over iputils ping (issue 17): ping's output read as hops, the walk stopping where it
// should, never a throw on odd output, and a real probe on loopback.
import fc from 'fast-check';
import t from 'tap';
import { parseProbe, pingProbe, traceroute, type Hop } from '../../../firmware/control/traceroute.ts';

const REPLY = '64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.036 ms\n\n--- 127.0.0.1 ping statistics ---\n1 packets transmitted, 1 received';
const EXCEEDED = 'PING 8.8.8.8 (8.8.8.8) 56(84) bytes of data.\nFrom 192.0.2.1 icmp_seq=1 Time to live exceeded\n';
const UNREACHABLE = 'From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n';

t.test('iputils output read as a hop', async (t) => {
  t.same(parseProbe(3, REPLY, 1), { ttl: 3, outcome: 'reached', from: '127.0.0.1', ms: 0.036 });
  t.same(parseProbe(1, EXCEEDED, 0.44), { ttl: 1, outcome: 'time-exceeded', from: '192.0.2.1', ms: 0.4 });
  t.match(parseProbe(2, UNREACHABLE, 3), { outcome: 'unreachable', from: '10.0.0.1' });
  t.same(parseProbe(4, '1 packets transmitted, 0 received, 100% packet loss', 1000), { ttl: 4, outcome: 'no-answer' });
  t.match(parseProbe(1, '64 bytes from 2001:db8::1: icmp_seq=1 ttl=64 time=1.5 ms', 1), { outcome: 'reached', from: '2001:db8::1' });
});

t.test('any output: a hop, never a throw', async () => {
  fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 30 }), (text, ttl) => parseProbe(ttl, text, 1).ttl === ttl));
});

t.test('the walk stops at the destination, in batches, within the hop limit', async (t) => {
  const asked: number[] = [];
  const probe = async (ttl: number): Promise<Hop> => {
    asked.push(ttl);
    return ttl < 6 ? { ttl, outcome: ttl === 3 ? 'no-answer' : 'time-exceeded', from: `10.0.0.${ttl}`, ms: 1 } : { ttl, outcome: 'reached', from: '198.51.100.1', ms: 2 };
  };
  const result = await traceroute('198.51.100.1', 15, probe);
  t.equal(result.reached, true);
  t.same(result.hops.map((h) => h.ttl), [1, 2, 3, 4, 5, 6], 'hops past the destination dropped');
  t.same(asked, [1, 2, 3, 4, 5, 6, 7, 8], 'two batches of four');
  t.match(result.output, /^traceroute to 198\.51\.100\.1/);
  t.match(result.output, / 3 {2}\*/);
  const never = await traceroute('192.0.2.9', 5, async (ttl) => ({ ttl, outcome: 'no-answer' }));
  t.same([never.reached, never.hops.length], [false, 5], 'no answer at all: bounded by the hop limit');
});

t.test('a real probe on loopback reaches it at the first hop', async (t) => {
  const result = await traceroute('127.0.0.1', 5, pingProbe('127.0.0.1'));
  t.equal(result.reached, true);
  t.same(result.hops.map((h) => [h.ttl, h.outcome, h.from]), [[1, 'reached', '127.0.0.1']]);
});
