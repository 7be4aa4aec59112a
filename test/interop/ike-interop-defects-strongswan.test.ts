// Issue 14: the IKEv2 defects another implementation found, reproduced against a real strongSwan
// configured to behave the same way. Each test failed on the code before the fix.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import type { IkePeerConfig } from '../lab/peers/postern-ike-peer.ts';
import type { LinePeer } from '../lab/peers/line-peer.ts';
import { StrongSwan } from '../lab/peers/strongswan.ts';
import type { SwanConnection, SwanSpec } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { posternSite, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { existsSync } from 'node:fs';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON } from '../lab/peers/strongswan.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);
const A = '192.0.2.1'; // strongSwan (gwA)
const B = '192.0.2.2'; // Postern (gwB)
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));
const logOf = (peer: LinePeer) => readFileSync(peer.daemon.logFile, 'utf8');

async function setUp(t: Test, swan: SwanSpec, postern: IkePeerConfig): Promise<{ lab: Lab; gwA: StrongSwan; gwB: LinePeer }> {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [gwA, gwB] = await Promise.all([StrongSwan.start(lab, 'gwA', swan), startPosternIke(lab, 'gwB', postern)]);
  return { lab, gwA, gwB };
}

const siteOf = (esp: string[], over: Partial<SwanConnection> = {}): SwanConnection => ({ ...swanSite({ local: A, remote: B, proposals: ['aes128gcm16-prfsha256-modp2048'], esp }), ...over });

for (const [label, swanEsp] of [['requires PFS (modp2048)', ['aes128gcm16-modp2048']], ['refuses PFS', ['aes128gcm16']]] as const) {
  t.test(`issue 14.1: a site peer that ${label}, Postern on its default ESP proposals: child rekeys from both ends under traffic, not one ping lost`, { skip }, async (t) => {
    const { lab, gwA, gwB } = await setUp(t, { connections: { site: siteOf([...swanEsp]) }, secrets: swanSecrets() }, {
      address: B, dataplane: { tunnelAddress: '10.2.0.1' },
      connections: [posternSite(A, { ike: ['aes128gcm16-prfsha256-modp2048'], esp: ['aes256gcm16', 'aes128gcm16'] })],
    });
    const r = await gwA.initiate('net');
    if (r.code !== 0) t.fail(`strongSwan could not initiate:\n${r.stdout}\n${gwA.log(40)}`);
    await gwB.waitEvent((e) => e['type'] === 'install-child');
    const started = Date.now();
    const pings = lab.exec('lanA', ['ping', '-c', '300', '-i', '0.02', '-W', '1', '10.2.0.10'], 40_000);
    // On a failure: which echo went missing, and when each rekey was done (ms after the pings began, ~20 ms per echo).
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what} ${Date.now() - started} ms`);
    await pause(400);
    for (let round = 1; round <= 2; round++) {
      t.equal(await gwB.command('rekey-child'), 'ok', `round ${round}: Postern rekeys the child`);
      await waitUntil(`Postern's rekey ${round}`, 8000, () => gwB.events.filter((e) => e['type'] === 'rekey-child').length >= 2 * round - 1);
      mark(`Postern ${round}`);
      await pause(500);
      t.equal((await gwA.swanctl(['--rekey', '--child', 'net'])).code, 0, `round ${round}: strongSwan rekeys the child`);
      await waitUntil(`strongSwan's rekey ${round}`, 8000, () => gwB.events.filter((e) => e['type'] === 'rekey-child').length >= 2 * round);
      mark(`strongSwan ${round}`);
      await pause(500);
    }
    const result = await pings;
    const answered = new Set([...result.stdout.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
    const missing = Array.from({ length: 300 }, (_, i) => i + 1).filter((n) => !answered.has(n));
    t.match(result.stdout, /300 packets transmitted, 300 received, 0% packet loss/, `no loss across four rekeys (missing echoes ${JSON.stringify(missing)}; rekeys done at ${marks.join(', ')}):\n${result.stdout.split('\n').slice(-3).join('\n')}`);
    const swanLog = gwA.log(2000);
    t.notMatch(swanLog, /NO_PROPOSAL_CHOSEN/, 'strongSwan never saw NO_PROPOSAL_CHOSEN');
    if (label.startsWith('requires')) t.match(swanLog, /selected proposal: ESP:AES_GCM_16_128\/MODP_2048/, 'the rekeyed children used PFS with MODP-2048');
    const sas = await gwA.listSas();
    t.equal(sas.length, 1, 'one IKE SA on strongSwan');
    t.same(sas[0]?.children.filter((c) => c.state !== 'DELETED').map((c) => c.state), ['INSTALLED'], 'with one live child');
  });
}

/** A CA and certificates for the signature tests; the ECDSA P-384 one is made by the openssl CLI (Postern's CA issues P-256 only). */
function signaturePki() {
  const ca = createCa({ commonName: 'Postern Lab CA', validityDays: 30, keyType: 'rsa-2048', now: new Date() });
  const issue = (name: string) => issueServerCertificate(ca, { commonName: name, sans: [name], validityDays: 30, now: new Date(), keyType: 'rsa-2048' });
  const dir = mkdtempSync(join(tmpdir(), 'postern-p384-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
    writeFileSync(join(dir, 'ca.key'), ca.keyPem.reveal());
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'c.key'), '-out', join(dir, 'c.csr'), '-subj', '/CN=a.example', '-addext', 'subjectAltName=DNS:a.example'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'c.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '30', '-copy_extensions', 'copy', '-sha384', '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    return { ca, a: issue('a.example'), b: issue('b.example'), p384: { certificatePem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'c.key'), 'utf8') } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('issue 14.2: strongSwan signing with RSASSA-PSS and with ECDSA P-384/SHA-384 is verified; Postern signs with PSS when asked', { skip }, async (t) => {
  const p = signaturePki();
  for (const [auth, cert, key, expected] of [
    ['rsa/pss-sha256', p.a.certificatePem, p.a.keyPem.reveal(), /'CN=a\.example' signed with RSASSA-PSS\/sha256 salt 32/],
    ['ecdsa-sha384', p.p384.certificatePem, p.p384.keyPem, /'CN=a\.example' signed with ECDSA\/sha384/],
  ] as const) {
    const { gwA, gwB, lab } = await setUp(t, {
      files: { 'x509ca/ca.pem': p.ca.certificatePem, 'x509/a.pem': cert, 'private/a.key': key },
      connections: { site: siteOf(['aes256gcm16'], { local: { auth, id: 'a.example', certs: ['a.pem'] }, remote: { auth: 'pubkey', id: 'b.example' } }) },
    }, {
      address: B,
      connections: [posternSite(A, {
        localId: 'b.example', remoteId: 'a.example', localAuth: 'certificate', peerAuth: 'certificate', rsaPss: true,
        certPem: p.b.certificatePem, keyPem: p.b.keyPem.reveal(), caPems: [p.ca.certificatePem], ike: ['aes128gcm16-prfsha256-modp2048'], esp: ['aes256gcm16'],
      })],
    });
    const r = await gwA.initiate('net');
    if (r.code !== 0) t.fail(`${auth}: strongSwan could not connect:\n${r.stdout}\n${gwA.log(60)}\n${logOf(gwB).slice(-3000)}`);
    await gwB.waitEvent((e) => e['type'] === 'install-child');
    t.match(logOf(gwB), expected, `${auth}: Postern verified strongSwan's signature and named the scheme`);
    t.match(r.stdout, /authentication of 'b\.example' with RSA_EMSA_PSS_SHA2_256_SALT_32 successful/, `${auth}: strongSwan verified Postern's PSS signature`);
    lab.teardown();
  }
});

t.test('issue 14.3: a virtual-IP client proposing TSi = its own address gets a child narrowed to its lease', { skip }, async (t) => {
  const { gwA, gwB, lab } = await setUp(t, {
    connections: {
      vpn: {
        localAddrs: [A], remoteAddrs: [B], proposals: ['aes256gcm16-prfsha256-curve25519'], vips: ['0.0.0.0'],
        local: { auth: 'psk', id: 'road@example.com' }, remote: { auth: 'psk', id: 'vpn.example.com' },
        children: { lan: { localTs: [`${A}/32`], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
    },
    secrets: [{ kind: 'ike', ids: ['road@example.com', 'vpn.example.com'], secret: 'remote-access-psk-0123456789' }],
  }, {
    address: B, dataplane: { tunnelAddress: '10.2.0.1', hub: true }, pools: { ra: { prefix: '10.10.0.0/24', dns: [] } },
    connections: [{ name: 'ra', localId: 'vpn.example.com', psk: 'remote-access-psk-0123456789', ike: ['aes256gcm16-prfsha256-curve25519'], esp: ['aes256gcm16'], localTs: ['10.2.0.0/24'], remoteTs: [], mode: 'tunnel', dpdSeconds: 30, pool: 'ra' }],
  });
  const r = await gwA.initiate('lan');
  t.match(gwA.log(400), /proposing traffic selectors for us:\n[^\n]* 192\.0\.2\.1\/32\n/, 'strongSwan proposed its own address as TSi');
  const child = await gwB.waitEvent((e) => e['type'] === 'install-child');
  t.same(child['remoteTs'], ['10.10.0.1/32'], 'Postern narrowed TSi to the leased address');
  t.notMatch(logOf(gwB), /TS_UNACCEPTABLE/, 'no TS_UNACCEPTABLE');
  if (r.code === 0) {
    const ping = await lab.exec('gwA', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
    t.equal(ping.code, 0, `the client reaches the LAN from its lease:\n${ping.stdout}`);
  } else {
    // strongSwan insists its answer lie inside what it proposed; Postern's side is what the issue asks for.
    t.match(r.stdout + gwA.log(200), /traffic selectors|TS_UNACCEPTABLE|no acceptable/, `strongSwan's own view of the narrowed answer:\n${r.stdout.slice(-800)}`);
  }
});

t.test('issue 14.4: a site peer killed and restarted without a delete or INITIAL_CONTACT leaves exactly one IKE SA on Postern', { skip }, async (t) => {
  // unique=never keeps charon from sending INITIAL_CONTACT, as peers that omit it do.
  const spec: SwanSpec = { connections: { site: siteOf(['aes256gcm16'], { unique: 'never' }) }, secrets: swanSecrets() };
  const { lab, gwA, gwB } = await setUp(t, spec, { address: B, connections: [posternSite(A, { ike: ['aes128gcm16-prfsha256-modp2048'], esp: ['aes256gcm16'], dpdSeconds: 5 })] });
  t.equal((await gwA.initiate('net')).code, 0, 'first run of the peer connects');
  await gwB.waitEvent((e) => e['type'] === 'install-child');
  process.kill(gwA.daemon.pid, 'SIGKILL');
  await gwA.daemon.exited;
  const again = await StrongSwan.start(lab, 'gwA', spec);
  const r = await again.initiate('net');
  if (r.code !== 0) t.fail(`the restarted peer could not connect:\n${r.stdout}`);
  t.notMatch(again.log(400), /N\(INIT_CONTACT\)/, 'without INITIAL_CONTACT');
  await waitUntil('two ike-up events on Postern', 5000, () => gwB.events.filter((e) => e['type'] === 'ike-up').length >= 2);
  await pause(500);
  const status = await ikeStatus(gwB);
  t.equal(status.sas.filter((s) => s.state === 'established').length, 1, `exactly one IKE SA on Postern: ${JSON.stringify(status.sas)}`);
  t.match(logOf(gwB), /replaced by IKE SA [0-9a-f]+ of 'gw-a\.example' \(unique\)/, 'Postern says why the old one went');
  const ping = await lab.exec('lanA', ['ping', '-c', '1', '-W', '2', '10.2.0.10']);
  t.not(ping.code, undefined);
});

t.test('issue 14.5: an IKEv1 initiator is answered at once and Postern logs who it was', { skip }, async (t) => {
  const { gwA, gwB } = await setUp(t, { connections: { site: siteOf(['aes256-sha1'], { version: 1, proposals: ['aes256-sha1-modp2048'] }) }, secrets: swanSecrets() }, {
    address: B, connections: [posternSite(A)],
  });
  const started = Date.now();
  const r = await gwA.initiate('net', 30);
  const seconds = (Date.now() - started) / 1000;
  t.not(r.code, 0, 'strongSwan fails to connect');
  t.ok(seconds < 5, `it fails fast: ${seconds.toFixed(1)} s instead of a minute of retransmits`);
  t.match(gwA.log(200), /received NO_PROPOSAL_CHOSEN error notify/, 'strongSwan was told NO_PROPOSAL_CHOSEN');
  await waitUntil('the warn line in Postern\'s log', 5000, () => /IKEv1 request from 192\.0\.2\.1:500 refused/.test(logOf(gwB))).catch(() => undefined);
  t.match(logOf(gwB), /IKEv1 request from 192\.0\.2\.1:500 refused: this gateway speaks IKEv2 only/, 'a warn line naming the source');
  t.equal((await ikeStatus(gwB)).drops['ikev1']! >= 1, true, 'counted');
});

t.test('issue 14.6: a proposal whose KE group Postern accepts later in its list is taken without INVALID_KE_PAYLOAD', { skip }, async (t) => {
  // strongSwan offers one proposal with ECP-256 first (its KE) and MODP-2048 second; Postern lists
  // MODP-2048 first. Before: Postern chose MODP-2048 and asked for it, costing a round trip.
  const { gwA, gwB } = await setUp(t, { connections: { site: siteOf(['aes256gcm16'], { proposals: ['aes256-sha256-ecp256-modp2048'] }) }, secrets: swanSecrets() }, {
    address: B, connections: [posternSite(A, { ike: ['aes256-sha256-modp2048', 'aes256-sha256-ecp256'], esp: ['aes256gcm16'] })],
  });
  const r = await gwA.initiate('net');
  if (r.code !== 0) t.fail(`strongSwan could not connect:\n${r.stdout}`);
  await gwB.waitEvent((e) => e['type'] === 'install-child');
  const log = gwA.log(400);
  t.notMatch(log, /INVALID_KE_PAYLOAD/, 'no INVALID_KE_PAYLOAD round trip');
  t.match(log, /selected proposal: IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256/, 'the group strongSwan sent its KE for');
});
