// Two IKEv1 sites behind ONE masquerading router (issue 19: peers behind the same NAT told apart by
// port): strongSwan (host charon, kernel-libipsec) in gwA and in gwC both initiate to Postern's
// IKEv1 engine on the driver; Postern sees both on 203.0.113.1, each on its own NAT port after the
// float to 4500. Both tunnels up at once, each LAN pings through its own; one site leaves and the
// other keeps working.
import { existsSync } from 'node:fs';
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK, swanSite } from '../lab/ike-sites.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesBehindOneNat } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

const NAT = '203.0.113.1';
const proposals = { ike: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'] };

/** strongSwan's end of one branch: its own ID and LAN, the same PSK (Main Mode picks it by address). */
function branch(id: string, local: string, lan: string) {
  const base = swanSite({ local, remote: '203.0.113.2', proposals: proposals.ike, esp: proposals.esp });
  return {
    connections: { site: { ...base, version: 1 as const, local: { auth: 'psk' as const, id }, children: { net: { localTs: [lan], remoteTs: ['10.2.0.0/24'], espProposals: proposals.esp } } } },
    secrets: [{ kind: 'ike' as const, ids: [id, 'gw-b.example'], secret: SITE_PSK }],
  };
}

/** Postern's site for one branch: keyed to the NAT's address, told apart by the branch's ID. */
const site = (name: string, remoteId: string, lan: string) => ({
  name, localId: 'gw-b.example', remoteId, remoteAddress: NAT, psk: SITE_PSK, ...proposals,
  localTs: ['10.2.0.0/24'], remoteTs: [lan], mode: 'tunnel' as const, dpdSeconds: 30,
});

t.test('two IKEv1 sites behind one NAT: both tunnels up at once, each LAN through its own', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBehindOneNat);
  t.teardown(() => lab.teardown());
  const [gwA, gwC, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', branch('gw-a.example', '172.16.1.2', '10.1.0.0/24')),
    StrongSwan.start(lab, 'gwC', branch('gw-c.example', '172.16.3.2', '10.3.0.0/24')),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', {
      address: '203.0.113.2', dataplane: { tunnelAddress: '10.2.0.1' },
      connections: [site('site-a', 'gw-a.example', '10.1.0.0/24'), site('site-c', 'gw-c.example', '10.3.0.0/24')],
    } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);

  // Both at the same time, through the one NAT.
  const [ra, rc] = await Promise.all([gwA.initiate('net'), gwC.initiate('net')]);
  if (ra.code !== 0) t.fail(`gwA could not initiate:\n${ra.stdout}\n${gwA.log(40)}\n${gwB.events.map((e) => JSON.stringify(e)).join('\n')}`);
  if (rc.code !== 0) t.fail(`gwC could not initiate:\n${rc.stdout}\n${gwC.log(40)}`);
  const children = await Promise.all(['site-a', 'site-c'].map((name) => gwB.waitEvent((e) => e['type'] === 'install-child' && e['connection'] === name)));
  const ports = children.map((c) => (c['encapsulation'] as { remotePort?: number } | null)?.remotePort);
  t.ok(ports.every((p) => typeof p === 'number'), `both children in UDP encapsulation, to NAT ports ${ports.join(' and ')}`);
  t.not(ports[0], ports[1], 'each child to its own NAT port');
  const ups = gwB.events.filter((e) => e['type'] === 'ike-up');
  t.same(ups.map((u) => [u['connection'], u['remoteId'], (u['remote'] as { address: string }).address]).sort(),
    [['site-a', 'gw-a.example', NAT], ['site-c', 'gw-c.example', NAT]], 'two ISAKMP SAs from the one address, each on its own site');

  const [fromA, fromC] = await Promise.all([
    lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']),
    lab.exec('lanC', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']),
  ]);
  t.equal(fromA.code, 0, `lanA → lanB through site-a:\n${fromA.stdout}`);
  t.equal(fromC.code, 0, `lanC → lanB through site-c:\n${fromC.stdout}`);
  const back = await lab.exec('lanB', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.3.0.10']);
  t.equal(back.code, 0, `lanB → lanC, to the second NAT port:\n${back.stdout}`);

  // Site A leaves with a delete; site C stays up and keeps carrying traffic.
  const gone = await gwA.swanctl(['--terminate', '--ike', 'site', '--timeout', '5']);
  t.equal(gone.code, 0, 'gwA terminated its IKE SA');
  const down = await gwB.waitEvent((e) => e['type'] === 'ike-down', 10_000);
  t.equal(down['connection'], 'site-a', 'Postern took down site-a');
  const still = await lab.exec('lanC', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(still.code, 0, `lanC → lanB still through site-c:\n${still.stdout}`);
  t.equal(gwB.events.filter((e) => e['type'] === 'ike-down').length, 1, 'site-c was not touched');
});
