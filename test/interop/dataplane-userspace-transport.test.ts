// Transport mode through the userspace DataPlane back end, as L2TP/IPsec uses it: policies select
// the gateways' own UDP 1701 traffic (protocol and port), so only that is steered into the hub and
// sealed while other traffic to the same peer, IKE's and ESP's included, keeps its normal route.
// Traffic before the SAs raises an acquire; with them, datagrams pass both ways in ESP (raw, then
// moved to UDP 4500 in place); taking the policies out takes the steering rules out. Issue 24: the
// same between two IPv6 addresses (ip -6 rules, raw ESP and UDP 4500 over IPv6).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { PolicySpec, SaSpec } from '../../firmware/dataplane/types.ts';
import { STEERING_TABLE } from '../../firmware/dataplane/userspace.ts';
import { decodeIpsecDatagram } from '../../firmware/l2tp/ipsec-datagram.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('socat') ? 'socat missing' : false);
const A = '192.0.2.1';
const B = '192.0.2.2';
const UDP = 17;
const L2TP = 1701;
const REQID = 7;

type WireSa = Omit<SaSpec, 'keys' | 'lifetime'> & { keys: { encryption: string } };

const sa = (spi: number, source: string, destination: string, direction: 'in' | 'out', key: string): WireSa => ({
  spi, source, destination, direction, mode: 'transport', suite: 'aes-gcm-128', keys: { encryption: key }, esn: false,
  replayWindow: direction === 'in' ? 128 : 0, reqid: REQID,
});

/** The two hosts' UDP 1701, both ways (host prefixes: /32, or /128 over IPv6). */
const policies = (me: string, peer: string): PolicySpec[] => {
  const host = me.includes(':') ? 128 : 32;
  return [
    { source: { prefix: `${me}/${host}`, protocol: UDP, port: L2TP }, destination: { prefix: `${peer}/${host}`, protocol: UDP, port: L2TP }, direction: 'out', action: 'protect', priority: 100, template: { source: me, destination: peer, mode: 'transport', reqid: REQID } },
    { source: { prefix: `${peer}/${host}`, protocol: UDP, port: L2TP }, destination: { prefix: `${me}/${host}`, protocol: UDP, port: L2TP }, direction: 'in', action: 'protect', priority: 100, template: { source: peer, destination: me, mode: 'transport', reqid: REQID } },
  ];
};

const json = (v: unknown) => JSON.stringify(v);

/** One IPv4 ICMP echo request, checksums made. */
function echoRequest(source: string, destination: string, seq: number): Buffer {
  const p = Buffer.alloc(28);
  p.set([0x45, 0, 0, 28, 0, seq, 0, 0, 64, 1]);
  p.set(source.split('.').map(Number), 12);
  p.set(destination.split('.').map(Number), 16);
  p.set([8, 0, 0, 0, 0x12, 0x34, 0, seq], 20);
  const sum = (b: Buffer) => { let s = 0; for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0); while (s > 0xffff) s = (s & 0xffff) + (s >> 16); return ~s & 0xffff; };
  p.writeUInt16BE(sum(p.subarray(0, 20)), 10);
  p.writeUInt16BE(sum(p.subarray(20)), 22);
  return p;
}

/** An L2TP data message (Length bit, no sequence) for tunnel 0x1234, session 0x5678, PPP with Address/Control. */
const l2tpData = (ip: Buffer): Buffer => {
  const head = Buffer.from([0x40, 0x02, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xff, 0x03, 0x00, 0x21]);
  head.writeUInt16BE(head.length + ip.length, 2);
  return Buffer.concat([head, ip]);
};

t.test('userspace data plane, transport mode: only the selected traffic is sealed', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [{ peer: gwA }, { peer: gwB }] = await Promise.all([
    LinePeer.spawn(lab, 'gwA', 'tr-a', 'dataplane-peer.ts', { address: A, tunnelAddress: '10.1.0.1', acquireHoldMs: 1000 }),
    LinePeer.spawn(lab, 'gwB', 'tr-b', 'dataplane-peer.ts', { address: B, tunnelAddress: '10.2.0.1', acquireHoldMs: 1000 }),
  ]);
  for (const p of policies(A, B)) await gwA.call('addPolicy', p);
  for (const p of policies(B, A)) await gwB.call('addPolicy', p);
  t.match(lab.execSync('gwA', ['ip', 'rule', 'show']), new RegExp(`to ${B.replace(/\./g, '\\.')} ipproto udp sport ${L2TP} dport ${L2TP} lookup ${STEERING_TABLE}`), 'the outbound policy steers UDP 1701 to the peer, by protocol and port');
  t.equal(lab.execSync('gwA', ['ip', 'route', 'show', B]).includes('phub0'), false, 'the peer itself keeps its normal route');

  // One receiving socket per gateway on UDP 1701, as an L2TP daemon's; what arrives is logged. The
  // senders share the port (SO_REUSEPORT) but on the wildcard address, so they are not in the sink's
  // reuseport group: a reply arriving while a sender is still closing goes to the sink, never to it.
  // Their source address comes from the steering route (`src`), as an unbound L2TP daemon's would.
  const sinkB = lab.spawnDaemon('gwB', 'l2tp-b', ['socat', '-u', `UDP4-RECVFROM:${L2TP},bind=${B},reuseport,fork`, 'STDOUT']);
  const sinkA = lab.spawnDaemon('gwA', 'l2tp-a', ['socat', '-u', `UDP4-RECVFROM:${L2TP},bind=${A},reuseport,fork`, 'STDOUT']);
  const send = (host: string, to: string, text: string, port = L2TP) =>
    lab.exec(host, ['sh', '-c', `printf '${text}' | socat -u STDIN UDP4-SENDTO:${to}:${port},bind=0.0.0.0:${L2TP},reuseport`]);
  const log = (d: { logFile: string }) => readFileSync(d.logFile, 'utf8');
  const sendBytes = (host: string, to: string, bytes: Buffer) =>
    lab.exec(host, ['sh', '-c', `printf '${[...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}' | socat -u STDIN UDP4-SENDTO:${to}:${L2TP},bind=0.0.0.0:${L2TP},reuseport`]);

  await send('gwA', B, 'before');
  const acquire = await gwA.waitEvent((e) => e['type'] === 'acquire');
  t.match(acquire, { reqid: REQID, policy: { destination: { prefix: `${B}/32`, port: L2TP } } }, 'a datagram before any SA raises an acquire for the transport policy');

  const kab = randomBytes(20).toString('hex');
  const kba = randomBytes(20).toString('hex');
  await Promise.all([gwA.call('addSa', sa(0x5000_0001, B, A, 'in', kba)), gwB.call('addSa', sa(0x6000_0001, A, B, 'in', kab))]);
  await Promise.all([gwA.call('addSa', sa(0x6000_0001, A, B, 'out', kab)), gwB.call('addSa', sa(0x5000_0001, B, A, 'out', kba))]);

  await send('gwA', B, 'hello-from-a');
  await waitUntil('A\'s datagram at B', 5000, () => log(sinkB).includes('hello-from-a'));
  await send('gwB', A, 'hello-from-b');
  await waitUntil('B\'s datagram at A', 5000, () => log(sinkA).includes('hello-from-b'));
  const outA = await gwA.call('querySa', { spi: 0x6000_0001, destination: B });
  const inB = await gwB.call('querySa', { spi: 0x6000_0001, destination: B });
  const inA = await gwA.call('querySa', { spi: 0x5000_0001, destination: A });
  t.ok(outA.packets >= 1 && inB.packets === outA.packets, `A's UDP 1701 datagram crossed in ESP transport mode (${outA.packets} sealed, ${inB.packets} opened)`);
  t.ok(inA.packets >= 1, 'and B\'s answer too');
  t.equal(log(sinkB).includes('before'), false, 'the datagram sent before the SAs was held back, not sent in clear');

  // Other traffic to the same peer is not the policy's: it goes in clear, past the SAs.
  const plain = lab.spawnDaemon('gwB', 'plain-b', ['socat', '-u', `UDP4-RECVFROM:5000,bind=${B},fork`, 'STDOUT']);
  await new Promise((r) => setTimeout(r, 300));
  await send('gwA', B, 'not-l2tp', 5000);
  await waitUntil('the plain datagram at B', 5000, () => log(plain).includes('not-l2tp'));
  t.equal((await gwA.call('querySa', { spi: 0x6000_0001, destination: B })).packets, outA.packets, 'a datagram to another port went outside the SA');

  // NAT-T: the same SAs move into UDP 4500 in place; the checksum of the rebuilt datagram is fixed.
  const encapsulation = { sourcePort: 4500, destinationPort: 4500 };
  await Promise.all([
    gwA.call('updateSa', { spi: 0x6000_0001, destination: B }, { encapsulation }), gwA.call('updateSa', { spi: 0x5000_0001, destination: A }, { encapsulation }),
    gwB.call('updateSa', { spi: 0x5000_0001, destination: A }, { encapsulation }), gwB.call('updateSa', { spi: 0x6000_0001, destination: B }, { encapsulation }),
  ]);
  const udpBefore = (await gwB.call('stats')).udp.rx;
  await send('gwA', B, 'over-udp-4500');
  await waitUntil('the encapsulated datagram at B', 5000, () => log(sinkB).includes('over-udp-4500'));
  t.ok((await gwB.call('stats')).udp.rx > udpBefore, 'it arrived in UDP 4500');

  // L2TP/IPsec (issue 20): the LNS takes its clients' UDP 1701 up from the SA itself, tagged with it,
  // instead of through the TUN (two clients behind one NAT look alike there), and answers through it.
  t.equal(await gwB.call('deliverUdp', REQID, L2TP), true, 'the driver hands the child\'s UDP 1701 up');
  await send('gwA', B, 'tagged-by-sa');
  const up = await gwB.waitEvent((e) => e['type'] === 'udp-up');
  const datagram = decodeIpsecDatagram(Buffer.from(String(up['datagram']), 'hex'));
  t.match({ reqid: up['reqid'], source: datagram?.source, sourcePort: datagram?.sourcePort, destinationPort: datagram?.destinationPort, payload: Buffer.from(datagram?.payload ?? []).toString() },
    { reqid: REQID, source: A, sourcePort: L2TP, destinationPort: L2TP, payload: 'tagged-by-sa' }, 'it came up as the rebuilt datagram, tagged with its reqid');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(log(sinkB).includes('tagged-by-sa'), false, 'and did not reach the UDP socket through the TUN');
  t.ok(Number(await gwB.call('sendUdp', REQID, L2TP, L2TP, Buffer.from('answer-through-sa').toString('hex'))) > 0, 'an answer sealed in the SA by the driver');
  await waitUntil('the answer at A', 5000, () => log(sinkA).includes('answer-through-sa'));
  const tunnelB = (await gwB.call('stats', REQID)).tunnel;
  t.ok(tunnelB.udpUp >= 1 && tunnelB.udpSent >= 1, `counted (udpUp ${tunnelB.udpUp}, udpSent ${tunnelB.udpSent})`);

  // PPP data in the driver (issue 20): a session installed on B's child deframes A's L2TP data
  // messages into B's TUN and frames B's IP for the session's address back, with no JavaScript per packet.
  lab.execSync('gwB', ['sh', '-c', 'for k in all default phub0; do sysctl -qw net.ipv4.conf.$k.rp_filter=0; done; ip route add 10.10.0.0/24 dev phub0']);
  const spec = { tunnelId: 0x1234, sessionId: 0x5678, peerTunnelId: 7, peerSessionId: 9, localPort: L2TP, peerPort: L2TP, mtu: 1380, sources: ['10.10.0.5/32'] };
  t.equal(await gwB.call('pppOpen', REQID, spec), true, 'the PPP data session is installed on the child');
  const upBefore = (await gwB.call('stats', REQID)).tunnel.udpUp;
  await sendBytes('gwA', B, l2tpData(echoRequest('10.10.0.5', '10.2.0.1', 1)));
  const reply = Buffer.from([0x00, 0x02, 0x00, 0x07, 0x00, 0x09, 0xff, 0x03, 0x00, 0x21]);
  await waitUntil('the echo reply framed by B at A', 5000, () => readFileSync(sinkA.logFile).includes(reply));
  const framed = readFileSync(sinkA.logFile);
  const icmp = framed.subarray(framed.indexOf(reply) + reply.length);
  t.same([icmp[9], icmp[20], [...icmp.subarray(12, 20)]], [1, 0, [10, 2, 0, 1, 10, 10, 0, 5]], 'A got an L2TP data message (the peer\'s tunnel and session IDs, PPP IPv4) holding B\'s echo reply to the session\'s address');
  await sendBytes('gwA', B, l2tpData(echoRequest('10.10.0.6', '10.2.0.1', 2))); // not the session's address
  await sendBytes('gwA', B, Buffer.from([0x40, 0x02, 0x00, 0x12, 0x12, 0x34, 0x56, 0x78, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0])); // LCP Echo-Request
  await gwB.waitEvent((e) => e['type'] === 'udp-up');
  const counters = await gwB.call('pppStats', REQID);
  t.match(counters, { rxPackets: 1, txPackets: 1, dropSource: 1, up: 1, tunnels: 1 }, `counted in the driver: one packet each way, the foreign source dropped, LCP left to JavaScript (${json(counters)})`);
  t.equal((await gwB.call('stats', REQID)).tunnel.udpUp, upBefore + 1, 'only the LCP frame came up the pipe');
  await gwB.call('pppRelease', REQID);
  t.match((await gwB.call('stats')).hub, { routes: 1 }, 'released: the session\'s route is gone, the child\'s own stays');

  for (const p of policies(A, B)) await gwA.call('deletePolicy', p);
  t.notMatch(lab.execSync('gwA', ['ip', 'rule', 'show']), new RegExp(`lookup ${STEERING_TABLE}`), 'deleting the policy takes its rule out');
  t.equal(lab.execSync('gwA', ['ip', 'route', 'show', 'table', String(STEERING_TABLE)]).trim(), '', 'and its route');
});

t.test('issue 24: transport mode between IPv6 hosts: UDP 1701 steered by ip -6 rules, sealed in raw ESP and then in UDP 4500 over IPv6; the rules go with the policies', { skip }, async (t) => {
  const [A6, B6] = ['2001:db8:12::1', '2001:db8:12::2'];
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  lab.execSync('gwA', ['ip', '-6', 'addr', 'add', `${A6}/64`, 'dev', 'wan', 'nodad']);
  lab.execSync('gwB', ['ip', '-6', 'addr', 'add', `${B6}/64`, 'dev', 'wan', 'nodad']);
  const [{ peer: gwA }, { peer: gwB }] = await Promise.all([
    LinePeer.spawn(lab, 'gwA', 'tr6-a', 'dataplane-peer.ts', { address: A6, tunnelAddress: '10.1.0.1' }),
    LinePeer.spawn(lab, 'gwB', 'tr6-b', 'dataplane-peer.ts', { address: B6, tunnelAddress: '10.2.0.1' }),
  ]);
  for (const p of policies(A6, B6)) await gwA.call('addPolicy', p);
  for (const p of policies(B6, A6)) await gwB.call('addPolicy', p);
  t.match(lab.execSync('gwA', ['ip', '-6', 'rule', 'show']), new RegExp(`to ${B6} ipproto udp sport ${L2TP} dport ${L2TP} lookup ${STEERING_TABLE}`), 'the outbound policy steers UDP 1701 to the IPv6 peer (an ip -6 rule)');
  t.match(lab.execSync('gwA', ['ip', '-6', 'route', 'show', 'table', String(STEERING_TABLE)]), new RegExp(`${B6} dev phub0 src ${A6}`), 'into the hub, from the SA\'s own address');
  const kab = randomBytes(20).toString('hex');
  const kba = randomBytes(20).toString('hex');
  await Promise.all([gwA.call('addSa', sa(0x5000_0001, B6, A6, 'in', kba)), gwB.call('addSa', sa(0x6000_0001, A6, B6, 'in', kab))]);
  await Promise.all([gwA.call('addSa', sa(0x6000_0001, A6, B6, 'out', kab)), gwB.call('addSa', sa(0x5000_0001, B6, A6, 'out', kba))]);

  const sinkB = lab.spawnDaemon('gwB', 'l2tp6-b', ['socat', '-u', `UDP6-RECVFROM:${L2TP},bind=[${B6}],reuseport,fork`, 'STDOUT']);
  const sinkA = lab.spawnDaemon('gwA', 'l2tp6-a', ['socat', '-u', `UDP6-RECVFROM:${L2TP},bind=[${A6}],reuseport,fork`, 'STDOUT']);
  const send = (host: string, to: string, text: string) => lab.exec(host, ['sh', '-c', `printf '${text}' | socat -u STDIN UDP6-SENDTO:[${to}]:${L2TP},bind=[::]:${L2TP},reuseport`]);
  const log = (d: { logFile: string }) => readFileSync(d.logFile, 'utf8');
  await new Promise((r) => setTimeout(r, 300)); // the sinks bound
  await send('gwA', B6, 'hello-from-a6');
  await waitUntil('A\'s datagram at B over IPv6', 5000, () => log(sinkB).includes('hello-from-a6'));
  await send('gwB', A6, 'hello-from-b6');
  await waitUntil('B\'s datagram at A over IPv6', 5000, () => log(sinkA).includes('hello-from-b6'));
  const outA = await gwA.call('querySa', { spi: 0x6000_0001, destination: B6 });
  const inB = await gwB.call('querySa', { spi: 0x6000_0001, destination: B6 });
  t.ok(outA.packets >= 1 && inB.packets === outA.packets, `A's datagram crossed in ESP transport mode over IPv6 (${outA.packets} sealed, ${inB.packets} opened)`);
  t.ok((await gwB.call('stats')).raw.rx >= 1, 'in raw ESP on the IPv6 endpoint');

  const encapsulation = { sourcePort: 4500, destinationPort: 4500 };
  await Promise.all([
    gwA.call('updateSa', { spi: 0x6000_0001, destination: B6 }, { encapsulation }), gwA.call('updateSa', { spi: 0x5000_0001, destination: A6 }, { encapsulation }),
    gwB.call('updateSa', { spi: 0x5000_0001, destination: A6 }, { encapsulation }), gwB.call('updateSa', { spi: 0x6000_0001, destination: B6 }, { encapsulation }),
  ]);
  const udpBefore = (await gwB.call('stats')).udp.rx;
  await send('gwA', B6, 'over-udp6-4500');
  await waitUntil('the encapsulated datagram at B', 5000, () => log(sinkB).includes('over-udp6-4500'));
  await send('gwB', A6, 'back-over-udp6-4500');
  await waitUntil('and the answer at A', 5000, () => log(sinkA).includes('back-over-udp6-4500'));
  t.ok((await gwB.call('stats')).udp.rx > udpBefore, 'then in UDP 4500 over IPv6, both ways (the UDP checksum made for the IPv6 pseudo-header on receipt)');

  for (const p of policies(A6, B6)) await gwA.call('deletePolicy', p);
  t.notMatch(lab.execSync('gwA', ['ip', '-6', 'rule', 'show']), new RegExp(`lookup ${STEERING_TABLE}`), 'deleting the policy takes its ip -6 rule out');
  t.equal(lab.execSync('gwA', ['ip', '-6', 'route', 'show', 'table', String(STEERING_TABLE)]).trim(), '', 'and its route');
});
