// The other two framings between two Postern data planes: raw ESP (IP protocol 50, RFC 4303), the
// no-NAT case real peers use, and plain GRE (IP protocol 47, RFC 2784/2890) with a key.
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { mirroredPeers, PosternDp, routeLansThroughTunnel } from '../lab/peers/postern-dp.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(isRoot() ? false : 'needs root');

t.test('raw ESP tunnel mode: ping and iperf3 between the LANs', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const { a, b } = mirroredPeers({ aAddress: '192.0.2.1', bAddress: '192.0.2.2', framing: 'esp' });
  const [gwA, gwB] = await Promise.all([PosternDp.start(lab, 'gwA', a), PosternDp.start(lab, 'gwB', b)]);
  routeLansThroughTunnel(lab);
  const ping = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `ping through raw ESP: ${ping.stdout}${ping.stderr}`);
  const r = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: 1 });
  t.ok(r.mbitPerSecond > 50, `iperf3 through raw ESP: ${r.mbitPerSecond.toFixed(0)} Mbit/s`);
  // On the wire it is protocol 50: the gateways' SAs counted every packet and nothing failed.
  const [sa, sb] = await Promise.all([gwA.stats(), gwB.stats()]);
  t.ok((sb.inbound['packets'] ?? 0) > 100 && (sa.inbound['packets'] ?? 0) > 100, 'both inbound SAs carried the traffic');
  t.equal((sa.tunnel['dropDecrypt'] ?? 0) + (sb.tunnel['dropDecrypt'] ?? 0), 0, 'no drops');
});

t.test('GRE with a key: traffic passes; a peer with the wrong key is dropped and counted', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const { a, b } = mirroredPeers({ aAddress: '192.0.2.1', bAddress: '192.0.2.2', framing: 'gre' });
  const [, gwB] = await Promise.all([PosternDp.start(lab, 'gwA', { ...a, greKey: 77 }), PosternDp.start(lab, 'gwB', { ...b, greKey: 77 })]);
  routeLansThroughTunnel(lab);
  const ping = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `ping through GRE: ${ping.stdout}${ping.stderr}`);
  const before = (await gwB.stats()).tunnel['dropDecrypt'] ?? 0;
  t.equal(before, 0);

  const wrong = Lab.create(twoSitesDirect);
  t.teardown(() => wrong.teardown());
  const [, gwB2] = await Promise.all([PosternDp.start(wrong, 'gwA', { ...a, greKey: 78 }), PosternDp.start(wrong, 'gwB', { ...b, greKey: 77 })]);
  routeLansThroughTunnel(wrong);
  const refused = await wrong.exec('lanA', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.2.0.10']);
  t.not(refused.code, 0, 'a key mismatch carries nothing');
  t.ok(((await gwB2.stats()).tunnel['dropDecrypt'] ?? 0) >= 2, 'and gwB counted the drops');
});
