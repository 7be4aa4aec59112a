// IKEv2 interop, scenario 5 of issue 4: NAT traversal (RFC 7296 §2.23, RFC 3948) between Postern
// and strongSwan, through one NAT and through two, with LAN-to-LAN traffic in both directions.
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { posternSite, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import type { LinePeer } from '../lab/peers/line-peer.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesBehindNat, twoSitesBothBehindNat } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

async function pingBothWays(t: Test, lab: Lab, gwB: LinePeer): Promise<void> {
  const there = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(there.code, 0, `lanA → lanB:\n${there.stdout}${there.stderr}`);
  const back = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(back.code, 0, `lanB → lanA:\n${back.stdout}${back.stderr}`);
  const status = await ikeStatus(gwB);
  t.ok(status.sas[0]?.nat, 'Postern detected the NAT');
  t.equal(status.tunnels[0]?.['dropDecrypt'], 0, 'no ESP dropped');
}

t.test('one NAT: strongSwan behind a masquerading router initiates to Postern', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swanSite({ local: '172.16.1.2', remote: '203.0.113.2', proposals: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'] }) }, secrets: swanSecrets() }),
    startPosternIke(lab, 'gwB', { address: '203.0.113.2', connections: [posternSite('203.0.113.1')], dataplane: { tunnelAddress: '10.2.0.1' } }),
  ]);
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(40)}`);
  const child = await gwB.waitEvent((e) => e['type'] === 'install-child');
  t.same(child['encapsulation'], { localPort: 4500, remotePort: 4500 }, 'ESP in UDP 4500, to the NAT mapping of 4500');
  t.match(gwA.log(200), /local host is behind NAT/, 'strongSwan saw itself behind the NAT through our NAT_DETECTION hashes');
  await pingBothWays(t, lab, gwB);
});

t.test('two NATs: Postern behind one initiates to strongSwan behind another', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBothBehindNat);
  t.teardown(() => lab.teardown());
  const swan = { ...swanSite({ local: '172.16.1.2', remote: '%any', proposals: ['aes128gcm16-prfsha256-curve25519'], esp: ['aes128gcm16'] }) };
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swan }, secrets: swanSecrets() }),
    startPosternIke(lab, 'gwB', { address: '172.16.2.2', connections: [posternSite('203.0.113.1', { ike: ['aes128gcm16-prfsha256-curve25519'], esp: ['aes128gcm16'] })], dataplane: { tunnelAddress: '10.2.0.1' } }),
  ]);
  t.equal(await gwB.command('initiate to-a'), 'ok');
  const child = await gwB.waitEvent((e) => e['type'] === 'install-child', 15_000).catch((e: Error) => {
    throw new Error(`${e.message}\nPostern:\n${readFileSync(gwB.daemon.logFile, 'utf8').split('\n').slice(-30).join('\n')}\nstrongSwan:\n${gwA.log(40)}`);
  });
  t.same(child['encapsulation'], { localPort: 4500, remotePort: 4500 }, 'Postern moved to 4500 after detecting NATs');
  const log = gwA.log(300);
  t.match(log, /local host is behind NAT/, 'strongSwan: itself behind a NAT');
  t.match(log, /remote host is behind NAT/, 'strongSwan: Postern behind a NAT');
  await pingBothWays(t, lab, gwB);
});
