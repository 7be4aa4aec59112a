// IKEv1 phase 1 renewal against strongSwan (issue 19), LAN to LAN pings running through children in
// the driver: strongSwan renews its ISAKMP SA (rekey_time: with IKEv1 a new Main Mode) and Postern
// carries the children over (strongSwan deletes the old ISAKMP SA first and keeps its CHILD_SAs:
// Postern keeps them running until the new one adopts them); Postern renews its own
// (ikeRekeySeconds) and strongSwan adopts them.
// Not one ping lost either way.
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import type { SwanConnection } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);
const A = '192.0.2.1'; // strongSwan (gwA, lanA 10.1.0.0/24)
const B = '192.0.2.2'; // Postern's IKEv1 engine with the driver (gwB, lanB 10.2.0.0/24)

async function setUp(t: Test, swanOver: Partial<SwanConnection>, posternOver: Partial<Ikev1PeerConfig['connections'][number]>): Promise<{ gwA: StrongSwan; gwB: LinePeer; lab: Lab }> {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const swan: SwanConnection = { ...swanSite({ local: A, remote: B, proposals: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'] }), version: 1, ...swanOver };
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swan }, secrets: swanSecrets(SITE_PSK) }),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', {
      address: B, dataplane: { tunnelAddress: '10.2.0.1' },
      connections: [{
        name: 'to-a', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress: A, psk: SITE_PSK, ike: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'],
        localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30, ...posternOver,
      }],
    } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);
  return { gwA, gwB, lab };
}

const charonLines = (gwA: StrongSwan) => () => gwA.log(400).split('\n').filter((l) => /\[(IKE|ENC|CHD)\]/.test(l) && !/ +[0-9]+: /.test(l)).slice(-20).join('\n');

/** 500 pings 20 ms apart (10 s) from lanA to lanB; how many came back. */
async function pingThrough(lab: Lab): Promise<{ received: number; text: string }> {
  const r = await lab.exec('lanA', ['ping', '-c', '500', '-i', '0.02', '-W', '1', '10.2.0.10'], 30_000);
  return { received: Number(/500 packets transmitted, (\d+) received/.exec(r.stdout)?.[1] ?? 0), text: r.stdout.split('\n').slice(-3).join('\n') };
}

t.test('strongSwan renews phase 1 (rekey_time 4 s): Postern carries the children over, no ping lost', { skip }, async (t) => {
  const { gwA, gwB, lab } = await setUp(t, { rekeyTime: '4s', randTime: '0s' }, {});
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(40)}`);
  await gwB.waitEvent((e) => e['type'] === 'install-child');
  const pings = pingThrough(lab);
  const renewed = await gwB.waitEvent((e) => e['type'] === 'ike-rekeyed', 15_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${charonLines(gwA)()}`);
  });
  t.ok(renewed['spi'] !== renewed['oldSpi'], 'Postern took strongSwan\'s new Main Mode as the renewal of the ISAKMP SA');
  const result = await pings;
  t.equal(result.received, 500, `lanA → lanB across the renewal, none lost:\n${result.text}\n${charonLines(gwA)()}`);
  t.equal(gwB.events.filter((e) => e['type'] === 'delete-child' || e['type'] === 'ike-down').length, 0, 'Postern deleted no child and took nothing down');
  const status = JSON.parse((await gwB.command('status')).replace(/^status /, '')) as { sas: Array<{ state: string; children: number }> };
  const holding = status.sas.filter((s) => s.state === 'established' && s.children > 0);
  t.same(holding.map((s) => s.children), [1], `one ISAKMP SA holding the one child: ${JSON.stringify(status.sas)}`);
});

t.test('Postern renews phase 1 (ikeRekeySeconds 7): strongSwan adopts the children, no ping lost', { skip }, async (t) => {
  const { gwA, gwB, lab } = await setUp(t, {}, { ikeRekeySeconds: 7 });
  t.equal(await gwB.command('initiate to-a'), 'ok');
  await gwB.waitEvent((e) => e['type'] === 'install-child');
  await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.children.some((c) => c.state === 'INSTALLED')));
  const pings = pingThrough(lab);
  await gwB.waitEvent((e) => e['type'] === 'ike-rekeyed', 15_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${charonLines(gwA)()}`);
  });
  const result = await pings;
  t.equal(result.received, 500, `lanA → lanB across the renewal, none lost:\n${result.text}\n${charonLines(gwA)()}`);
  // Renewed at 7 s, the old SA deleted 5 s later (12 s), before the next renewal (14 s).
  await waitUntil('strongSwan holds one IKE SA with the child', 8000, async () => {
    const sas = await gwA.listSas();
    return sas.length === 1 && sas[0]!.children.some((c) => c.state === 'INSTALLED' && c.packetsIn > 0);
  }, charonLines(gwA));
  t.pass('strongSwan adopted the child into the new IKE SA and deleted the old one');
  t.equal(gwB.events.filter((e) => e['type'] === 'delete-child' || e['type'] === 'ike-down').length, 0, 'Postern deleted no child');
});
