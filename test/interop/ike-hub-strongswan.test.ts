// Many tunnels on one gateway: two strongSwan branch sites connect to Postern at the same time;
// both child SAs run on Postern's one shared TUN and shared UDP 4500 endpoint (issue 3's SPD over
// one TUN), each LAN reaches the hub's LAN and traffic goes to the right branch.
import { existsSync } from 'node:fs';
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK } from '../lab/ike-sites.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import type { IkePeerConnection } from '../lab/peers/postern-ike-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import type { SwanConnection } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoBranchesOneHub } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

const branch = (id: string, local: string, lan: string): SwanConnection => ({
  localAddrs: [local], remoteAddrs: ['192.0.2.2'], proposals: ['aes128gcm16-prfsha256-ecp256'],
  local: { auth: 'psk', id }, remote: { auth: 'psk', id: 'hub.example' },
  children: { net: { localTs: [lan], remoteTs: ['10.2.0.0/24'], espProposals: ['aes128gcm16'] } },
});
const spoke = (name: string, id: string, lan: string): IkePeerConnection => ({
  name, localId: 'hub.example', remoteId: id, psk: SITE_PSK, ike: ['aes128gcm16-prfsha256-ecp256'], esp: ['aes128gcm16'],
  localTs: ['10.2.0.0/24'], remoteTs: [lan], mode: 'tunnel', dpdSeconds: 30,
});

t.test('two branches on one shared TUN: each reaches the hub LAN, the hub reaches each', { skip }, async (t) => {
  const lab = Lab.create(twoBranchesOneHub);
  t.teardown(() => lab.teardown());
  const secrets = [{ kind: 'ike' as const, ids: ['branch1.example', 'branch2.example', 'hub.example'], secret: SITE_PSK }];
  const [a1, a2, hub] = await Promise.all([
    StrongSwan.start(lab, 'gwA1', { connections: { site: branch('branch1.example', '198.51.100.2', '10.1.0.0/24') }, secrets }),
    StrongSwan.start(lab, 'gwA2', { connections: { site: branch('branch2.example', '198.51.101.2', '10.3.0.0/24') }, secrets }),
    startPosternIke(lab, 'gwB', {
      address: '192.0.2.2', dataplane: { tunnelAddress: '10.2.0.1', hub: true },
      connections: [spoke('branch1', 'branch1.example', '10.1.0.0/24'), spoke('branch2', 'branch2.example', '10.3.0.0/24')],
    }),
  ]);
  const [r1, r2] = await Promise.all([a1.initiate('net'), a2.initiate('net')]);
  if (r1.code !== 0 || r2.code !== 0) t.fail(`a branch could not connect:\n${r1.stdout}\n${r2.stdout}`);
  await waitUntil('both children installed', 5000, () => hub.events.filter((e) => e['type'] === 'install-child').length === 2);
  for (const [host, target] of [['lanA1', '10.2.0.10'], ['lanA2', '10.2.0.10'], ['lanB', '10.1.0.10'], ['lanB', '10.3.0.10']] as const) {
    const r = await lab.exec(host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', target]);
    t.equal(r.code, 0, `${host} → ${target}:\n${r.stdout}${r.stderr}`);
  }
  const status = await ikeStatus(hub);
  t.equal(status.sas.length, 2, 'two IKE SAs');
  t.equal(status.hub?.['routes'], 2, 'two routes on the shared TUN');
  t.equal(status.hub?.['noRoute'], 0, `every packet found its tunnel: ${JSON.stringify(status.hub)}`);
  t.ok(status.tunnels.every((x) => x['tunRx']! >= 3 && x['netRx']! >= 3), `each tunnel carried its branch's pings: ${JSON.stringify(status.tunnels)}`);
  // One branch leaves: its route goes, the other keeps working.
  await a1.swanctl(['--terminate', '--ike', 'site']);
  await hub.waitEvent((e) => e['type'] === 'ike-down');
  const after = await ikeStatus(hub);
  t.equal(after.hub?.['routes'], 1, 'the departed branch\'s route is gone');
  const still = await lab.exec('lanA2', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(still.code, 0, 'the other branch still works');
});
