// IKEv1 site-to-site through a real NAT (issue 19): strongSwan speaking IKEv1 behind a masquerading
// router initiates to Postern; LAN to LAN both ways and an iperf3 TCP flow through the children in
// the driver; Postern answers strongSwan's DPD; then strongSwan dies without a word and Postern's DPD (RFC 3706) declares it dead and
// takes the site down.
import { existsSync } from 'node:fs';
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('iperf3') ? 'iperf3 is not installed' : false);

t.test('IKEv1 through a NAT: LAN to LAN, iperf3, DPD answered, then DPD takes a vanished peer down', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const swan = { ...swanSite({ local: '172.16.1.2', remote: '203.0.113.2', proposals: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'] }), version: 1 as const, dpdDelay: '1s' };
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swan }, secrets: swanSecrets() }),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', {
      address: '203.0.113.2', dataplane: { tunnelAddress: '10.2.0.1' }, engine: { retransmitBaseMs: 500 },
      connections: [{
        name: 'to-a', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress: '203.0.113.1', psk: SITE_PSK,
        ike: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 2,
      }],
    } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(40)}`);
  const child = await gwB.waitEvent((e) => e['type'] === 'install-child');
  t.same(child['encapsulation'], { localPort: 4500, remotePort: 4500 }, 'ESP in UDP 4500, to the NAT\'s mapping');
  t.match(gwA.log(300), /local host is behind NAT/, 'strongSwan saw itself behind the NAT through Postern\'s NAT-D');
  const there = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(there.code, 0, `lanA → lanB:\n${there.stdout}`);
  const back = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(back.code, 0, `lanB → lanA:\n${back.stdout}`);
  const flow = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: 3 });
  t.ok(flow.mbitPerSecond > 1, `iperf3 TCP lanA → lanB through the IKEv1 child: ${flow.mbitPerSecond.toFixed(0)} Mbit/s`);
  // DPD the other way: strongSwan (dpd_delay 1 s) asks R-U-THERE when idle, Postern answers.
  await waitUntil('strongSwan gets an R-U-THERE-ACK from Postern', 15_000, () => /parsed INFORMATIONAL_V1 request \d+ \[ HASH N\(DPD_ACK\) \]/.test(gwA.log(400)), () => gwA.log(30));
  t.pass('Postern answered strongSwan\'s DPD (R-U-THERE-ACK)');
  t.equal(gwB.events.filter((e) => e['type'] === 'ike-down').length, 0, 'and the SA stays up');
  process.kill(gwA.daemon.pid, 'SIGKILL'); // no delete: the peer simply vanishes
  const down = await gwB.waitEvent((e) => e['type'] === 'ike-down', 40_000);
  t.match(String(down['reason']), /dead peer: no R-U-THERE-ACK/, 'Postern declared the peer dead by DPD');
  await gwB.waitEvent((e) => e['type'] === 'delete-child', 5000);
  t.pass('and removed its child');
});
