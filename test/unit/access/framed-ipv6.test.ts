// RADIUS Framed-IPv6-Prefixes held by PPP sessions (issue 21): exactly a /64, unicast, outside every
// pool's IPv6 prefix (those /64s and /128s are leased), never two sessions' at once; given back on release.
import t from 'tap';
import { FramedIpv6Prefixes } from '../../../firmware/access/framed-ipv6.ts';

t.test('a /64 outside the pools, one session at a time', async (t) => {
  let pools = ['fd00:10::/48', 'fd00:99::/64'];
  const held = new FramedIpv6Prefixes(() => pools);
  t.same(held.claim('2001:db8:5::/64', 1), { ok: true, prefix: '2001:db8:5::/64' });
  t.same(held.claim('2001:db8:5::/64', 1), { ok: true, prefix: '2001:db8:5::/64' }, 'the holder may ask again');
  t.match(held.claim('2001:db8:5:0:0::/64', 2), { ok: false, reason: /another session's/ }, 'never a second session\'s, however it is spelt');
  t.match(held.claim('2001:db8:6::/48', 2), { ok: false, reason: /not a \/64/ });
  t.match(held.claim('2001:db8:6::/128', 2), { ok: false, reason: /not a \/64/ });
  t.match(held.claim('fd00:10:0:7::/64', 2), { ok: false, reason: /overlaps the pool prefix fd00:10::\/48/ }, 'a /64 a pool leases');
  t.match(held.claim('fd00:99::/64', 2), { ok: false, reason: /overlaps the pool prefix fd00:99::\/64/ });
  t.match(held.claim('fe80::/64', 2), { ok: false, reason: /not a unicast/ });
  t.match(held.claim('ff02::/64', 2), { ok: false, reason: /not a unicast/ });
  t.match(held.claim('10.0.0.0/8', 2), { ok: false, reason: /not an IPv6 prefix/ });
  t.match(held.claim('junk', 2), { ok: false });
  t.equal(held.size, 1);
  held.release('2001:db8:5::/64', 2);
  t.equal(held.size, 1, 'only its holder gives it back');
  held.release('2001:db8:5::/64', 1);
  t.same(held.claim('2001:db8:5::/64', 2), { ok: true, prefix: '2001:db8:5::/64' }, 'free again once released');
  pools = ['2001:db8::/32'];
  t.match(held.claim('2001:db8:7::/64', 3), { ok: false, reason: /overlaps the pool prefix 2001:db8::\/32/ }, 'the pools are read at every claim');
});
