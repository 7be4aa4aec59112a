// ESP transport mode (RFC 4303 §3.1.1) between two Postern data planes keyed by hand: the gateways'
// own traffic to each other (ICMP, TCP) is steered into the TUN by policy routing, its payload
// protected by ESP between the two hosts' addresses; raw ESP directly, and ESP in UDP through a
// masquerading NAT, where the receiver fixes the L4 checksums the sender made for addresses it
// never sees (RFC 3948 §3.1.2). This is the path L2TP/IPsec takes.
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { mirroredPeers, PosternDp } from '../lab/peers/postern-dp.ts';
import { twoSitesBehindNat, twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('iperf3') ? 'iperf3 missing' : false);

/** ICMP and TCP from `host` to `peer` go into the TUN with the host's own address as source; ESP, IKE and UDP 4500 do not. */
function steer(lab: Lab, host: string, own: string, peer: string): void {
  lab.execSync(host, ['ip', 'route', 'add', `${peer}/32`, 'dev', 'pst0', 'src', own, 'table', '100']);
  for (const protocol of ['icmp', 'tcp']) lab.execSync(host, ['ip', 'rule', 'add', 'to', `${peer}/32`, 'ipproto', protocol, 'lookup', '100', 'priority', '100']);
}

t.test('transport mode, raw ESP: the gateways ping each other and move TCP, all of it through ESP', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const { a, b } = mirroredPeers({ aAddress: '192.0.2.1', bAddress: '192.0.2.2', framing: 'esp' });
  const [gwA, gwB] = await Promise.all([PosternDp.start(lab, 'gwA', { ...a, transport: true }), PosternDp.start(lab, 'gwB', { ...b, transport: true })]);
  steer(lab, 'gwA', '192.0.2.1', '192.0.2.2');
  steer(lab, 'gwB', '192.0.2.2', '192.0.2.1');
  const ping = await lab.exec('gwA', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '192.0.2.2']);
  t.equal(ping.code, 0, `gwA pings gwB's own address: ${ping.stdout.split('\n').find((l) => l.includes('loss'))}`);
  const [sa, sb] = await Promise.all([gwA.stats(), gwB.stats()]);
  t.ok((sb.inbound['packets'] ?? 0) >= 5 && (sa.inbound['packets'] ?? 0) >= 5, `the echoes and the replies were ESP (${sb.inbound['packets']} in at gwB, ${sa.inbound['packets']} in at gwA)`);
  t.equal(sb.tunnel['dropDecrypt'], 0, 'nothing refused');
  const r = await iperf3(lab, { host: 'gwB', address: '192.0.2.2' }, 'gwA', { seconds: 2 });
  t.ok(r.mbitPerSecond > 50, `TCP through transport mode: ${r.mbitPerSecond.toFixed(0)} Mbit/s`);
  const after = await gwB.stats();
  t.ok(Number(after.inbound['bytes'] ?? 0) > 1_000_000, `and it was carried by the SA (${after.inbound['bytes']} bytes decrypted at gwB)`);
  t.comment(`postern esp transport aes-gcm-128: ${r.mbitPerSecond.toFixed(0)} Mbit/s`);
});

t.test('transport mode in UDP 4500 through a NAT: checksums fixed for the addresses each side sees', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const { a, b } = mirroredPeers({ aAddress: '172.16.1.2', bAddress: '203.0.113.2', bSeesA: '203.0.113.1' });
  const [gwA, gwB] = await Promise.all([PosternDp.start(lab, 'gwA', { ...a, transport: true }), PosternDp.start(lab, 'gwB', { ...b, transport: true })]);
  steer(lab, 'gwA', '172.16.1.2', '203.0.113.2');
  steer(lab, 'gwB', '203.0.113.2', '203.0.113.1');
  const ping = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '203.0.113.2']);
  t.equal(ping.code, 0, 'gwA, behind the NAT, pings gwB through ESP in UDP');
  const r = await iperf3(lab, { host: 'gwB', address: '203.0.113.2' }, 'gwA', { seconds: 2 });
  t.ok(r.mbitPerSecond > 50, `TCP both ways across the NAT: ${r.mbitPerSecond.toFixed(0)} Mbit/s (a wrong checksum would stall it)`);
  const [sa, sb] = await Promise.all([gwA.stats(), gwB.stats()]);
  t.ok(Number(sb.inbound['bytes'] ?? 0) > 1_000_000 && (sa.inbound['packets'] ?? 0) > 100, 'carried by the SAs both ways');
  t.equal(sa.tunnel['dropDecrypt'], 0, 'nothing refused at gwA');
});
