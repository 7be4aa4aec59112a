// IKEv1 with certificates (issue 19): Postern's IKEv1 engine against strongSwan speaking IKEv1
// (swanctl `version = 1`, `auth = pubkey`), RSA certificates from Postern's own CA, each
// side initiating; LAN to LAN through the children in the driver; and a certificate from a CA
// Postern does not trust refused with a line a technician can act on.
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import type { KeyType } from '../../firmware/pki/keys.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

// Five lab set-ups of about ten seconds each (and two short iperf3 runs); more than tap's two minutes on a busy machine.
t.setTimeout(240_000);

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);
const skipIperf = skip || labSkip(!hasBinary('iperf3') ? 'iperf3 is not installed' : false);

const A = '192.0.2.1'; // strongSwan (gwA)
const B = '192.0.2.2'; // Postern (gwB)

function pki(keyType: KeyType, name = 'Postern Lab CA') {
  const ca = createCa({ commonName: name, validityDays: 30, keyType, now: new Date() });
  const issue = (cn: string) => issueServerCertificate(ca, { commonName: cn, sans: [cn], validityDays: 30, now: new Date(), keyType });
  return { ca, a: issue('a.example'), b: issue('b.example') };
}

async function setUp(t: Test, keyType: KeyType, options: { posternTrusts?: string; dataplane?: boolean } = {}) {
  const p = pki(keyType);
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', {
      files: { 'x509ca/ca.pem': p.ca.certificatePem, 'x509/a.pem': p.a.certificatePem, 'private/a.key': p.a.keyPem.reveal() },
      connections: {
        site: {
          version: 1, localAddrs: [A], remoteAddrs: [B], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'pubkey', id: 'a.example', certs: ['a.pem'] }, remote: { auth: 'pubkey', id: 'b.example' },
          children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes128gcm16'] } },
        },
      },
    }),
    LinePeer.spawn(lab, 'gwB', 'postern-ikev1-gwB', 'postern-ikev1-peer.ts', {
      address: B, ...(options.dataplane ? { dataplane: { tunnelAddress: '10.2.0.1' } } : {}),
      connections: [{
        name: 'to-a', localId: 'b.example', remoteId: 'a.example', remoteAddress: A, psk: 'unused-unused-unused',
        localAuth: 'certificate', peerAuth: 'certificate', certPem: p.b.certificatePem, keyPem: p.b.keyPem.reveal(), caPems: [options.posternTrusts ?? p.ca.certificatePem],
        ike: ['aes256-sha256-modp2048'], esp: ['aes128gcm16'], localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30,
      }],
    } satisfies Ikev1PeerConfig).then((r) => r.peer),
  ]);
  return { gwA, gwB, lab };
}

const postern = (gwB: LinePeer) => readFileSync(gwB.daemon.logFile, 'utf8');
const isChild = (e: Record<string, unknown>) => e['type'] === 'install-child';

// RSA only: IKEv1 ECDSA is not offered (see firmware/ikev1/engine/signature-auth.ts). RSA-3072
// makes message 5 and 6 larger than one 1500-byte frame.
for (const [keyType, initiators] of [['rsa-2048', ['strongswan', 'postern']], ['rsa-3072', ['postern']]] as const) {
  t.test(`IKEv1 site with ${keyType} certificates from Postern's CA, ${initiators.join(' and ')} initiating`, { skip }, async (t) => {
    for (const initiator of initiators) {
      const { gwA, gwB, lab } = await setUp(t, keyType);
      if (initiator === 'strongswan') {
        const r = await gwA.initiate('net');
        if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n--- Postern:\n${postern(gwB).split('\n').slice(-12).join('\n')}`);
        t.match(r.stdout, /authentication of 'b\.example' with RSA[^\n]* successful/, `${keyType}: strongSwan verified Postern's signature`);
      } else {
        t.equal(await gwB.command('initiate to-a'), 'ok');
      }
      const up = await gwB.waitEvent((e) => e['type'] === 'ike-up').catch((e: Error) => {
        throw new Error(`${e.message}\n--- Postern:\n${postern(gwB).split('\n').slice(-20).join('\n')}\n--- charon:\n${gwA.log(60)}`);
      });
      t.equal(up['remoteId'], 'a.example', `${initiator} initiated: Postern authenticated strongSwan's certificate`);
      await waitUntil('Postern logs whose signature it checked', 3000, () => /'CN=a\.example[^']*' signed HASH_[IR] with its certificate/.test(postern(gwB)));
      await gwB.waitEvent(isChild);
      await waitUntil('strongSwan installs the child', 5000, async () => (await gwA.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children[0]?.state === 'INSTALLED'));
      t.pass(`${initiator} initiated: both sides installed the child`);
      if (keyType === 'rsa-3072') {
        // Messages 5 and 6 exceed strongSwan's 1280-byte fragment size: IKE fragmentation both ways.
        t.match(gwA.log(400), /splitting IKE message \(\d+ bytes\) into \d+ fragments/, 'strongSwan sent message 6 in fragments');
        t.match(gwA.log(400), /reassembled fragmented IKE message/, 'and put Postern\'s fragments of message 5 together');
        t.match(postern(gwB), /reassembled a \d+-byte message from 192\.0\.2\.1/, 'Postern put strongSwan\'s together');
      }
      lab.teardown();
    }
  });
}

t.test('IKEv1 with certificates: LAN to LAN through the children in the driver, ping and iperf3, each side initiating', { skip: skipIperf }, async (t) => {
  const { gwA, gwB, lab } = await setUp(t, 'rsa-2048', { dataplane: true });
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(60)}`);
  await gwB.waitEvent(isChild);
  const ping = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `lanA → lanB:\n${ping.stdout}`);
  const back = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(back.code, 0, `lanB → lanA:\n${back.stdout}`);
  const flow = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: 2 });
  t.ok(flow.mbitPerSecond > 1, `strongSwan initiated: iperf3 TCP lanA → lanB, ${flow.mbitPerSecond.toFixed(0)} Mbit/s`);
  // Now Postern ends the SA and dials strongSwan itself with its certificate.
  t.equal(await gwB.command('terminate'), 'ok');
  await gwB.waitEvent((e) => e['type'] === 'ike-down');
  await waitUntil('strongSwan drops the SA on Postern\'s delete', 5000, async () => (await gwA.listSas()).length === 0);
  const children = gwB.events.filter(isChild).length;
  t.equal(await gwB.command('initiate to-a'), 'ok');
  await waitUntil('Postern installs the child of its own dial', 15_000, () => gwB.events.filter(isChild).length > children);
  await waitUntil('strongSwan installs it', 5000, async () => (await gwA.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children[0]?.state === 'INSTALLED'));
  const there = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(there.code, 0, `Postern initiated: lanB → lanA:\n${there.stdout}`);
  const reverse = await iperf3(lab, { host: 'lanA', address: '10.1.0.10' }, 'lanB', { seconds: 2 });
  t.ok(reverse.mbitPerSecond > 1, `Postern initiated: iperf3 TCP lanB → lanA, ${reverse.mbitPerSecond.toFixed(0)} Mbit/s`);
  t.equal(gwB.events.filter((e) => e['type'] === 'dataplane-error').length, 0, 'the driver took both children');
});

t.test('IKEv1 with a certificate from a CA Postern does not trust: refused, and the log says why', { skip }, async (t) => {
  const stranger = pki('rsa-2048', 'Somebody Else CA');
  const { gwA, gwB } = await setUp(t, 'rsa-2048', { posternTrusts: stranger.ca.certificatePem });
  const r = await gwA.initiate('net', 5);
  t.not(r.code, 0, 'strongSwan fails to initiate');
  t.match(postern(gwB), /certificate refused: certificate 'CN=a\.example[^']*' is not signed by a trusted CA/, 'Postern logs why');
  t.equal(gwB.events.filter((e) => e['type'] === 'ike-up').length, 0);
});
