// IKEv1 Aggressive Mode with a pre-shared key against strongSwan (swanctl `aggressive = yes`), for
// the sites that need it (issue 19): each side initiating, the child SA agreed; and Postern's refusal
// when the site does not allow it, with the reason in its log.
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

const A = '192.0.2.1'; // strongSwan (gwA)
const B = '192.0.2.2'; // Postern (gwB)

async function setUp(t: Test, posternAllows: boolean) {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const swan = { ...swanSite({ local: A, remote: B, proposals: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'] }), version: 1 as const, aggressive: true };
  const [gwA, gwB] = await Promise.all([
    // strongSwan answers Aggressive Mode with a PSK only when told it does not care (its own warning).
    StrongSwan.start(lab, 'gwA', { connections: { site: swan }, secrets: swanSecrets(), charonOptions: ['i_dont_care_about_security_and_use_aggressive_mode_psk = yes'] }),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', {
      address: B,
      connections: [{
        name: 'to-a', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress: A, psk: SITE_PSK, aggressive: posternAllows,
        ike: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30,
      }],
    } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);
  return { gwA, gwB };
}

const postern = (gwB: LinePeer) => readFileSync(gwB.daemon.logFile, 'utf8');
const isChild = (e: Record<string, unknown>) => e['type'] === 'install-child';

t.test('Aggressive Mode with strongSwan, each side initiating', { skip }, async (t) => {
  for (const initiator of ['strongswan', 'postern'] as const) {
    const { gwA, gwB } = await setUp(t, true);
    if (initiator === 'strongswan') {
      const r = await gwA.initiate('net');
      if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n--- Postern:\n${postern(gwB).split('\n').slice(-12).join('\n')}`);
      t.match(r.stdout, /AGGRESSIVE request 0 \[ SA KE No ID/, 'strongSwan opened with Aggressive Mode');
    } else {
      t.equal(await gwB.command('initiate to-a'), 'ok');
    }
    const up = await gwB.waitEvent((e) => e['type'] === 'ike-up').catch((e: Error) => {
      throw new Error(`${e.message}\n--- Postern:\n${postern(gwB).split('\n').slice(-20).join('\n')}\n--- charon:\n${gwA.log(60)}`);
    });
    t.equal(up['remoteId'], 'gw-a.example', `${initiator} initiated: authenticated by the pre-shared key`);
    await gwB.waitEvent(isChild);
    await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children[0]?.state === 'INSTALLED'));
    t.match(postern(gwB), /cracked offline/, 'Postern flags Aggressive Mode in its log');
    t.match(postern(gwB), /(send|recv) Aggressive Mode\*? \[HASH/, 'message 3 carried HASH_I');
  }
});

t.test('Aggressive Mode refused by a site that does not allow it, with the reason', { skip }, async (t) => {
  const { gwA, gwB } = await setUp(t, false);
  const r = await gwA.initiate('net', 5);
  t.not(r.code, 0, 'strongSwan fails to initiate');
  await waitUntil('Postern logs the refusal', 3000, () => /Aggressive Mode is not enabled for gw-a\.example/.test(postern(gwB)));
  t.match(r.stdout + gwA.log(100), /NO_PROPOSAL_CHOSEN/, 'strongSwan was told NO-PROPOSAL-CHOSEN');
});
