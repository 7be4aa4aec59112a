// Issue 16 in the lab: strongSwan clients with certificates Postern checks for revocation. A CA
// outside Postern (hard-fail) publishes its CRL from a tiny HTTP server on the gateway's LAN, or answers
// OCSP through `openssl ocsp` with a delegated responder: the revoked client is refused with the reason,
// the good one gets in. A client of Postern's own CA is disconnected when its certificate is revoked
// in the CA's registry, the file the control API's revoke writes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { saveIssued } from '../../firmware/pki/issued-registry.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { startPosternIke } from '../lab/peers/postern-ike.ts';
import type { IkePeerConfig } from '../lab/peers/postern-ike-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { makeRevocationPki, type IssuedLeaf, type RevocationPki } from '../lab/revocation-pki.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('openssl') ? 'openssl is not installed' : false);

const LAN_SERVER = '10.2.0.10';

/** strongSwan on gwA with one connection per client certificate, each asking for a virtual IP. */
function client(lab: Lab, pki: RevocationPki, clients: IssuedLeaf[]) {
  const files: Record<string, string> = { 'x509ca/ca.pem': pki.ca.certificatePem };
  const connections: Record<string, Parameters<typeof StrongSwan.start>[2]['connections'][string]> = {};
  for (const c of clients) {
    files[`x509/${c.name}.pem`] = c.certificatePem;
    files[`private/${c.name}.key`] = c.keyPem;
    connections[c.name.split('.')[0]!] = {
      localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-ecp256'], vips: ['0.0.0.0'],
      local: { auth: 'pubkey', id: c.name, certs: [`${c.name}.pem`] }, remote: { auth: 'pubkey', id: 'gw.example' },
      children: { [`${c.name.split('.')[0]}-lan`]: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
    };
  }
  return StrongSwan.start(lab, 'gwA', { files, connections });
}

/** Postern on gwB: remote access by certificate, with the revocation checker of the subsystem. */
function gateway(lab: Lab, pki: RevocationPki, gw: IssuedLeaf, revocation: IkePeerConfig['revocation']) {
  return startPosternIke(lab, 'gwB', {
    address: '192.0.2.2', pools: { ra: { prefix: '10.10.0.0/24', dns: [] } }, ...(revocation ? { revocation } : {}),
    connections: [{
      name: 'ra', localId: 'gw.example', psk: 'unused-unused-unused', localAuth: 'certificate', certPem: gw.certificatePem, keyPem: gw.keyPem,
      peerAuth: 'certificate', caPems: [pki.ca.certificatePem], ike: ['aes256-sha256-ecp256'], esp: ['aes256gcm16'],
      localTs: ['10.2.0.0/24'], remoteTs: [], mode: 'tunnel', dpdSeconds: 30, pool: 'ra',
    }],
  });
}

/** A tiny HTTP server on the gateway's LAN serving one file. */
function serveFile(lab: Lab, path: string, port: number) {
  const script = `require('http').createServer((q, s) => { const b = require('fs').readFileSync(${JSON.stringify(path)}); s.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': b.length }); s.end(b); }).listen(${port}, '${LAN_SERVER}')`;
  return lab.spawnDaemon('lanB', 'crl-http', [process.execPath, '-e', script]);
}

/** True once something listens on the lab server's TCP `port`, as seen from the gateway. */
async function listening(lab: Lab, port: number): Promise<boolean> {
  const probe = `require('net').connect(${port}, '${LAN_SERVER}').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  return waitFor(async () => (await lab.exec('gwB', [process.execPath, '-e', probe])).code === 0, 10_000);
}

async function waitFor(what: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) if (await what()) return true;
  return false;
}

t.test('CRL from the certificate\'s distribution point (hard-fail): the revoked client refused, the good one in', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const crlUrl = `http://${LAN_SERVER}:8080/ca.crl`;
  const [alice, bob, gw] = [pki.issue('alice.example', { crl: crlUrl }), pki.issue('bob.example', { crl: crlUrl }), pki.issue('gw.example', {})];
  writeFileSync(join(pki.dir, 'ca.crl'), pki.crl([{ serialHex: bob.serialHex, revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000) }]));
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  serveFile(lab, join(pki.dir, 'ca.crl'), 8080);
  t.ok(await listening(lab, 8080), 'the CRL server is up');
  const road = await client(lab, pki, [alice, bob]);
  const postern = await gateway(lab, pki, gw, { trusted: [{ caPem: pki.ca.certificatePem, policy: 'hard' }] });

  const refused = await road.initiate('bob-lan', 30);
  t.not(refused.code, 0, 'bob is refused');
  t.match(refused.stdout, /AUTHENTICATION_FAILED/, 'with AUTHENTICATION_FAILED');
  const log = readFileSync(postern.daemon.logFile, 'utf8');
  t.match(log, new RegExp(`certificate 'CN=bob\\.example' serial ${bob.serialHex} is revoked \\(CRL from http://10\\.2\\.0\\.10:8080/ca\\.crl, revoked at \\d{4}-`), 'Postern says which certificate, from which CRL, since when');
  t.match(log, /IKE_AUTH of 'bob\.example' held: revocation of certificate/, 'the first IKE_AUTH waited for the fetch (hard-fail), the retransmission was answered');
  await postern.waitEvent((e) => e['type'] === 'ike-down' && /authentication failed: certificate 'CN=bob/.test(String(e['reason'])), 5000);

  const ok = await road.initiate('alice-lan', 20);
  if (ok.code !== 0) t.fail(`alice could not connect:\n${ok.stdout}\n${road.log(40)}`);
  t.match(ok.stdout, /installing new virtual IP 10\.10\.0\.\d+/, 'alice, not on the CRL, is in');
});

t.test('OCSP from the certificate\'s AIA, answered by openssl ocsp with a delegated signer: the revoked client refused', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const ocspUrl = `http://${LAN_SERVER}:2560/`;
  const [alice, bob, gw] = [pki.issue('alice.example', { ocsp: ocspUrl }), pki.issue('bob.example', { ocsp: ocspUrl }), pki.issue('gw.example', {})];
  const signer = pki.issue('ocsp.example', {}, { eku: 'OCSPSigning' });
  const index = pki.writeIndex([alice, bob], new Map([[bob.serialHex, new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)]]));
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const responder = lab.spawnDaemon('lanB', 'openssl-ocsp', ['openssl', 'ocsp', '-index', index, '-port', '2560', '-CA', pki.caPath, '-rsigner', signer.certPath, '-rkey', join(pki.dir, 'ocsp.example.key'), '-nmin', '10']);
  // Its log, not a probe: `openssl ocsp` serves one connection at a time and a probe's empty one stalls it.
  t.ok(await waitFor(() => existsSync(responder.logFile) && readFileSync(responder.logFile, 'utf8').includes('waiting for OCSP client connections'), 10_000), 'openssl ocsp is up');
  const road = await client(lab, pki, [alice, bob]);
  const postern = await gateway(lab, pki, gw, { trusted: [{ caPem: pki.ca.certificatePem, policy: 'hard' }] });

  const refused = await road.initiate('bob-lan', 30);
  t.not(refused.code, 0, 'bob is refused');
  t.match(refused.stdout, /AUTHENTICATION_FAILED/);
  t.match(readFileSync(postern.daemon.logFile, 'utf8'), new RegExp(`certificate 'CN=bob\\.example' serial ${bob.serialHex} is revoked \\(OCSP from http://10\\.2\\.0\\.10:2560/, revoked at `), 'Postern names the OCSP responder');
  const ok = await road.initiate('alice-lan', 20);
  if (ok.code !== 0) t.fail(`alice could not connect:\n${ok.stdout}\n${road.log(40)}\n${readFileSync(responder.logFile, 'utf8')}`);
  t.match(ok.stdout, /installing new virtual IP 10\.10\.0\.\d+/, 'alice, good by OCSP, is in');
});

t.test('revoked while connected: a client of Postern\'s own CA is disconnected when its revocation is recorded', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const [alice, gw] = [pki.issue('alice.example', {}), pki.issue('gw.example', {})];
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const state = lab.subdir('state');
  const record = { name: 'alice', serialHex: alice.serialHex, notAfter: new Date(Date.now() + 20 * 86_400_000).toISOString() };
  saveIssued(state, [record]);
  const road = await client(lab, pki, [alice]);
  const postern = await gateway(lab, pki, gw, { own: { caPem: pki.ca.certificatePem, stateDir: state, policy: 'hard' } });
  const ok = await road.initiate('alice-lan', 20);
  if (ok.code !== 0) t.fail(`alice could not connect:\n${ok.stdout}\n${road.log(40)}`);
  t.equal((await road.listSas()).filter((s) => s.state === 'ESTABLISHED').length, 1, 'alice is connected');

  // What POST /api/v1/certificates/revoke records: revokedAt on the issued certificate.
  saveIssued(state, [{ ...record, revokedAt: new Date().toISOString() }]);
  const ended = await postern.waitEvent((e) => e['type'] === 'revoked-session', 15_000);
  t.match(ended['reason'], new RegExp(`certificate 'CN=alice\\.example' serial ${alice.serialHex} is revoked \\(Postern's revocation list, revoked at `), 'Postern ends the session and says why');
  t.ok(await waitFor(async () => (await road.listSas()).length === 0, 10_000), `strongSwan's SA is gone:\n${road.log(20)}`);
  t.match(road.log(200), /received DELETE for IKE_SA/, 'strongSwan was told (INFORMATIONAL Delete)');
  const again = await road.initiate('alice-lan', 10);
  t.not(again.code, 0, 'and cannot come back');
  t.match(again.stdout, /AUTHENTICATION_FAILED/);
});
