// A site's peer named by DNS (issue 24): RFC 8305 order (IPv6 first, families interleaved), only the
// families the WAN has, the next address after each failed dial (so the other family is tried), the
// name looked up again at every dial, a lookup that fails or hangs reported, never thrown.
import t from 'tap';
import { happyEyeballsOrder, PeerAddresses } from '../../../firmware/sites/peer-addresses.ts';

const both = new Set<4 | 6>([4, 6]);

t.test('RFC 8305 order, within the WAN\'s families', async (t) => {
  t.same(happyEyeballsOrder(['192.0.2.1', '192.0.2.2', '2001:db8::1', '2001:db8::2', '2001:db8::3'], both), ['2001:db8::1', '192.0.2.1', '2001:db8::2', '192.0.2.2', '2001:db8::3']);
  t.same(happyEyeballsOrder(['192.0.2.1', '2001:db8::1'], new Set([4])), ['192.0.2.1'], 'an IPv4-only WAN never dials the AAAA');
  t.same(happyEyeballsOrder(['192.0.2.1', '2001:db8::1', '2001:db8::1'], new Set([6])), ['2001:db8::1'], 'an IPv6-only WAN never dials the A; duplicates once');
});

t.test('each failed dial moves to the next address; the name looked up at every dial', async (t) => {
  let answers = ['198.51.100.7', '2001:db8:20::2'];
  let lookups = 0;
  const peers = new PeerAddresses(async () => (lookups++, answers));
  const next = async () => {
    const r = await peers.next('branch', 'branch.example', both);
    return 'address' in r ? r.address : r.error;
  };
  t.equal(await next(), '2001:db8:20::2', 'IPv6 first');
  t.equal(await next(), '2001:db8:20::2', 'and again while it works');
  peers.failed('branch');
  t.equal(await next(), '198.51.100.7', 'after a failed dial, the other family');
  peers.failed('branch');
  t.equal(await next(), '2001:db8:20::2', 'and round again');
  answers = ['198.51.100.8'];
  t.equal(await next(), '198.51.100.8', 'the name moved: its new address');
  t.equal(lookups, 5, 'looked up at every dial');
  t.same(await peers.next('x', '192.0.2.9', both), { address: '192.0.2.9', of: 1 }, 'an address is dialed as it is, without a lookup');
  t.equal(lookups, 5);
});

t.test('no answer, no address of our family, a hung resolver: a reason, never a throw', async (t) => {
  const failing = new PeerAddresses(async () => { throw new Error('ENOTFOUND'); });
  t.match(await failing.next('a', 'nowhere.example', both), { error: /'nowhere\.example' did not resolve: ENOTFOUND/ });
  const v6only = new PeerAddresses(async () => ['2001:db8::5']);
  t.match(await v6only.next('a', 'six.example', new Set([4])), { error: /no address of a family this gateway's WAN has \(2001:db8::5\)/ });
  const hung = new PeerAddresses(() => new Promise<string[]>(() => {}), 50);
  t.match(await hung.next('a', 'slow.example', both), { error: /no answer within 50 ms/ });
});
