// Site-to-site Postern ↔ Postern over IKEv2 with no NAT between them: raw ESP (protocol 50), one
// end on its own tunnel, the other on the shared TUN and the shared raw ESP socket; over IPv4, then
// the same over an IPv6 WAN (issue 24).
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import { posternSite } from '../lab/ike-sites.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);

t.test('two Postern gateways: IKEv2, raw ESP, LAN to LAN both ways; rekeyed under traffic', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const siteA = { ...posternSite('192.0.2.2', { name: 'to-b', localId: 'gw-a.example', remoteId: 'gw-b.example', localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] }) };
  const siteB = posternSite('192.0.2.1', { name: 'to-a' });
  const [gwA, gwB] = await Promise.all([
    startPosternIke(lab, 'gwA', { address: '192.0.2.1', connections: [siteA], dataplane: { tunnelAddress: '10.1.0.1' } }),
    startPosternIke(lab, 'gwB', { address: '192.0.2.2', connections: [siteB], dataplane: { tunnelAddress: '10.2.0.1', hub: true } }),
  ]);
  t.equal(await gwA.command('initiate to-b'), 'ok');
  const child = await gwA.waitEvent((e) => e['type'] === 'install-child');
  t.equal(child['encapsulation'], null, 'no NAT: raw ESP');
  await gwB.waitEvent((e) => e['type'] === 'install-child');
  for (const [host, target] of [['lanA', '10.2.0.10'], ['lanB', '10.1.0.10']] as const) {
    const r = await lab.exec(host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', target]);
    t.equal(r.code, 0, `${host} → ${target}:\n${r.stdout}`);
  }
  const pings = lab.exec('lanA', ['ping', '-c', '100', '-i', '0.02', '-W', '1', '10.2.0.10'], 20_000);
  await new Promise((done) => setTimeout(done, 500));
  t.equal(await gwB.command('rekey-child'), 'ok', 'the hub side rekeys');
  await gwA.waitEvent((e) => e['type'] === 'rekey-child');
  t.match((await pings).stdout, /100 received, 0% packet loss/, 'no loss across the rekey');
  const b = await ikeStatus(gwB);
  t.equal(b.hub?.['noRoute'], 0);
  t.ok((b.tunnels[0]?.['netRx'] ?? 0) >= 100, 'the hub side received through the shared raw ESP socket');

  // Issue 24: the same two gateways over an IPv6 WAN (the LANs stay IPv4): raw ESP over IPv6.
  for (const peer of [gwA, gwB]) {
    peer.daemon.child.kill('SIGTERM');
    await peer.daemon.exited;
  }
  lab.execSync('gwA', ['ip', 'addr', 'add', '2001:db8:2::1/64', 'dev', 'wan', 'nodad']);
  lab.execSync('gwB', ['ip', 'addr', 'add', '2001:db8:2::2/64', 'dev', 'wan', 'nodad']);
  const [gwA6, gwB6] = await Promise.all([
    startPosternIke(lab, 'gwA', { address: '2001:db8:2::1', connections: [{ ...siteA, remoteAddress: '2001:db8:2::2' }], dataplane: { tunnelAddress: '10.1.0.1' } }),
    startPosternIke(lab, 'gwB', { address: '2001:db8:2::2', connections: [{ ...siteB, remoteAddress: '2001:db8:2::1' }], dataplane: { tunnelAddress: '10.2.0.1', hub: true } }),
  ]);
  t.equal(await gwA6.command('initiate to-b'), 'ok');
  const child6 = await gwA6.waitEvent((e) => e['type'] === 'install-child');
  t.equal(child6['encapsulation'], null, 'over IPv6 without NAT: raw ESP (protocol 50 over IPv6)');
  await gwB6.waitEvent((e) => e['type'] === 'install-child');
  for (const [host, target] of [['lanA', '10.2.0.10'], ['lanB', '10.1.0.10']] as const) {
    const r = await lab.exec(host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', target]);
    t.equal(r.code, 0, `over IPv6, ${host} → ${target}:\n${r.stdout}`);
  }
  const b6 = await ikeStatus(gwB6);
  t.match(b6.sas[0], { state: 'established', nat: false, remote: { address: '2001:db8:2::1' } }, 'the IKE SA runs between the IPv6 addresses, no NAT detected');
  t.ok((b6.tunnels[0]?.['netRx'] ?? 0) >= 3, 'the hub side received through the shared raw ESP socket on IPv6');
});
