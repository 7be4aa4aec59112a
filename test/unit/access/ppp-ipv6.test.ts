// IPv6 on a PPP session (firmware/access/ppp-ipv6.ts): after IPV6CP, the advert carries the /64 of the
// session's pool address so SLAAC with the assigned identifier gives exactly that address; solicitations
// are answered; only the leased source is forwarded; adverts repeat before the router lifetime ends.
import t from 'tap';
import { ADVERT_INTERVAL_MS, PppIpv6, type Ipv6Assignment } from '../../../firmware/access/ppp-ipv6.ts';
import { ControlCode, encodeConfigure } from '../../../firmware/ppp/control-packet.ts';
import { Fsm, FsmState } from '../../../firmware/ppp/fsm.ts';
import { decodeRouterAdvertisement, icmpv6Checksum } from '../../../firmware/ppp/router-advert.ts';
import { parseIp } from '../../../firmware/util/ip.ts';

const ip6 = (text: string) => Uint8Array.from(parseIp(text)!.bytes);
const LEASE = 'fd00:10::2a';

function opened(assignment: Ipv6Assignment = { address: LEASE, prefixLength: 128 }) {
  const v6 = new PppIpv6({ assignment: () => assignment, dns: ['10.0.0.53', 'fd00:2::53'], random: () => Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 9]), mtu: 1400 });
  const fsm = new Fsm(v6.ncp.handler);
  fsm.up(0);
  const ours = fsm.open(0).find((a) => a.type === 'send')!;
  // The client proposes its own identifier; the gateway Naks with the lease's, then Acks it.
  const nak = fsm.receive(encodeConfigure(ControlCode.ConfigureRequest, 1, [{ type: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }]), 1).find((a) => a.type === 'send');
  fsm.receive(encodeConfigure(ControlCode.ConfigureRequest, 2, [{ type: 1, data: ip6(assignment.address).subarray(8) }]), 2);
  if (ours.type !== 'send') throw new Error('no request');
  fsm.receive(Uint8Array.from([ControlCode.ConfigureAck, ...ours.packet.subarray(1)]), 3);
  return { v6, fsm, nak };
}

function solicitation(source: Uint8Array): Uint8Array {
  const icmp = Uint8Array.from([133, 0, 0, 0, 0, 0, 0, 0]);
  const packet = new Uint8Array(48);
  packet.set([0x60, 0, 0, 0, 0, 8, 58, 255]);
  packet.set(source, 8);
  packet.set(ip6('ff02::2'), 24);
  const sum = icmpv6Checksum(source, ip6('ff02::2'), icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  packet.set(icmp, 40);
  return packet;
}

t.test('IPV6CP assigns the identifier of the leased address', async (t) => {
  const { v6, fsm, nak } = opened();
  t.equal(fsm.state, FsmState.Opened);
  t.equal(nak?.type === 'send' && nak.packet[0], ControlCode.ConfigureNak, 'a different identifier is Nak\'ed');
  t.equal(v6.address, LEASE);
});

t.test('the first advert: the lease\'s /64 for SLAAC, MTU, IPv6 DNS only, from our link-local', async (t) => {
  const { v6 } = opened();
  const [ra] = v6.up(0);
  const decoded = decodeRouterAdvertisement(ra!);
  if (!decoded.ok) return t.fail(decoded.error.message);
  const a = decoded.value;
  t.same([...a.destination], [...ip6('ff02::1')]);
  t.same([...a.source], [...ip6('fe80::200:0:0:9')], 'source: fe80:: + our identifier');
  t.equal(a.prefixes.length, 1);
  t.same([...a.prefixes[0]!.prefix], [...ip6('fd00:10::')]);
  t.equal(a.prefixes[0]!.length, 64);
  t.ok(a.prefixes[0]!.autonomous && a.prefixes[0]!.onLink);
  t.equal(a.mtu, 1400);
  t.same(a.rdnss.flatMap((r) => r.servers.map((s) => [...s])), [[...ip6('fd00:2::53')]], 'the IPv4 DNS server is left out');
  t.ok(a.routerLifetime * 1000 > ADVERT_INTERVAL_MS * 2, 'refreshed well inside the router lifetime');
});

t.test('solicitations are answered to their source; periodic adverts follow', async (t) => {
  const { v6 } = opened();
  v6.up(0);
  const rs = v6.fromPeer(solicitation(ip6('fe80::2a')));
  t.equal(rs.forward, false, 'never forwarded');
  const answer = rs.answer[0] && decodeRouterAdvertisement(rs.answer[0]);
  t.same(answer?.ok && [...answer.value.destination], [...ip6('fe80::2a')]);
  t.same(v6.tick(ADVERT_INTERVAL_MS - 1), [], 'not yet');
  t.equal(v6.tick(ADVERT_INTERVAL_MS).length, 1, 'repeated after the interval');
  t.equal(v6.nextTimeout(), 2 * ADVERT_INTERVAL_MS);
  v6.down();
  t.equal(v6.nextTimeout(), undefined);
});

t.test('only the leased source reaches the network; link-local and others are counted', async (t) => {
  const { v6 } = opened();
  const packet = (source: string) => {
    const p = new Uint8Array(60);
    p.set([0x60, 0, 0, 0, 0, 20, 6, 64]);
    p.set(ip6(source), 8);
    p.set(ip6('fd00:2::10'), 24);
    return p;
  };
  t.equal(v6.fromPeer(packet(LEASE)).forward, true);
  t.equal(v6.fromPeer(packet('fd00:10::99')).forward, false);
  t.equal(v6.fromPeer(packet('fe80::1')).forward, false);
  t.same(v6.drops, { 'IPv6 from another source': 1, 'IPv6 link-local (not forwarded)': 1 });
});

t.test('a /64 of its own (issue 20): advertised for SLAAC, any source in it forwarded, none outside', async (t) => {
  const { v6 } = opened({ address: 'fd00:10:0:2a::2a', prefixLength: 64 });
  t.equal(v6.address, 'fd00:10:0:2a::2a', 'the address SLAAC forms from the identifier IPV6CP gave');
  t.equal(v6.routedPrefix, 'fd00:10:0:2a::/64', 'the whole /64 is routed to the session');
  const decoded = decodeRouterAdvertisement(v6.up(0)[0]!);
  if (!decoded.ok) return t.fail(decoded.error.message);
  const [prefix] = decoded.value.prefixes;
  t.same([...prefix!.prefix], [...ip6('fd00:10:0:2a::')], 'the advert carries the session\'s /64');
  t.ok(prefix!.length === 64 && prefix!.onLink && prefix!.autonomous, 'on-link and autonomous: SLAAC and temporary addresses (RFC 8981) work');
  const packet = (source: string) => {
    const p = new Uint8Array(60);
    p.set([0x60, 0, 0, 0, 0, 20, 6, 64]);
    p.set(ip6(source), 8);
    p.set(ip6('fd00:2::10'), 24);
    return p;
  };
  for (const inside of ['fd00:10:0:2a::2a', 'fd00:10:0:2a::1234', 'fd00:10:0:2a:d1e5:77a0:3b1:9c2f', 'fd00:10:0:2a:ffff:ffff:ffff:ffff']) {
    t.equal(v6.fromPeer(packet(inside)).forward, true, `${inside} is the session's`);
  }
  for (const outside of ['fd00:10:0:2b::2a', 'fd00:10::2a', 'fd00:10:1:2a::2a', '2001:db8::1']) {
    const verdict = v6.fromPeer(packet(outside));
    t.equal(verdict.forward, false, `${outside} is not`);
    t.equal(verdict.dropped, 'IPv6 from another source');
  }
  t.same(v6.drops, { 'IPv6 from another source': 4 }, 'each counted');
  t.equal(v6.fromPeer(packet('::')).dropped, 'IPv6 from :: (not forwarded)', 'duplicate address detection\'s :: is not counted as a foreign source');
  t.same(opened().v6.routedPrefix, `${LEASE}/128`, 'a /128 assignment routes the /128 alone');
});
