// Revocation of intermediate CAs (issue 16): a peer sends root → intermediate → leaf, each CA naming
// its CRL; Postern asks about the leaf (signed by the intermediate) and the intermediate (signed by the
// root), under the trusted root's policy. A revoked intermediate refuses IKE_AUTH, ends a live SA
// (the sweep), and ends Postern's SSTP client's TLS check; an intact chain passes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { revokedSessions } from '../../../firmware/ike/shell/revocation-sweep.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { createCrl } from '../../../firmware/pki/crl.ts';
import { pemDecode } from '../../../firmware/pki/der.ts';
import { chainRevocationVerdict } from '../../../firmware/revocation/revocation-policy.ts';
import { RevocationService } from '../../../firmware/revocation/revocation-service.ts';
import { tlsChain, tlsRevocationCheck } from '../../../firmware/revocation/tls-peer.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed');
const log = createLogger({ level: 'error', sink: () => undefined });
const ROOT_CRL = 'http://192.0.2.9/root.crl';
const INT_CRL = 'http://192.0.2.9/intermediate.crl';

interface Pem { certificate: string; key: string }

/** Root → intermediate → leaf (a.example), as an outside PKI made with the openssl command line. */
function threeLevels(): { root: Pem; intermediate: Pem; leaf: Pem } {
  const dir = mkdtempSync(join(tmpdir(), 'postern-3chain-'));
  try {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(dir, 'int.ext'), `basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:${ROOT_CRL}\n`);
    writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:a.example,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:${INT_CRL}\n`);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=Outside Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    ssl('req', ...ec, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Outside Intermediate');
    ssl('x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '0x1a2b', '-out', 'int.pem', '-days', '30', '-extfile', 'int.ext');
    ssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=a.example');
    ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-set_serial', '0x3c4d', '-out', 'leaf.pem', '-days', '20', '-extfile', 'leaf.ext');
    const read = (name: string): Pem => ({ certificate: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') });
    return { root: read('root'), intermediate: read('int'), leaf: read('leaf') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pki = skip ? undefined : threeLevels();
const x509 = (p: Pem) => new X509Certificate(p.certificate);
const crlOf = (ca: Pem, revoked: string[]) => pemDecode('X509 CRL', createCrl({ certificatePem: ca.certificate, keyPem: new Secret(ca.key) }, revoked.map((serialHex) => ({ serialHex, revokedAt: new Date(Date.now() - 60_000) })), { now: new Date(), nextUpdateDays: 7 }))!;

/** The service with both CRLs served by a fake fetch (the HTTP shell has its own tests), warmed for the path. */
async function service(intermediateRevoked: boolean, policy: 'hard' | 'soft' = 'hard'): Promise<{ service: RevocationService; fetched: string[] }> {
  const { root, intermediate, leaf } = pki!;
  const fetched: string[] = [];
  const crls: Record<string, Buffer> = { [ROOT_CRL]: crlOf(root, intermediateRevoked ? ['1a2b'] : []), [INT_CRL]: crlOf(intermediate, []) };
  const s = new RevocationService({ log, trusted: [{ ca: x509(root), policy }], fetch: async (url) => (fetched.push(url), crls[url] ?? Promise.reject(new Error('404'))) });
  await s.checkNow(x509(leaf), x509(intermediate), x509(root));
  await s.checkNow(x509(intermediate), x509(root), x509(root));
  return { service: s, fetched };
}

t.test('the path verdict: a revoked intermediate refuses, under the root policy, though the leaf is good', { skip }, async (t) => {
  const { root, intermediate, leaf } = pki!;
  const chain = [{ certificate: x509(leaf), issuer: x509(intermediate) }, { certificate: x509(intermediate), issuer: x509(root) }];
  const bad = await service(true);
  t.teardown(() => bad.service.close());
  t.same(bad.fetched.sort(), [INT_CRL, ROOT_CRL], 'each CA\'s CRL fetched from the CDP its certificate names');
  t.equal(bad.service.check(x509(leaf), x509(intermediate), new Date()).policy, 'soft', 'the intermediate alone is not a configured CA');
  t.equal(bad.service.check(x509(leaf), x509(intermediate), new Date(), x509(root)).policy, 'hard', 'with the path\'s root named: the root\'s policy');
  const refused = chainRevocationVerdict(chain, bad.service, new Date());
  t.match(refused, { verdict: 'refuse', reason: /^intermediate CA certificate 'CN=Outside Intermediate' serial 1a2b is revoked \(CRL from http:\/\/192\.0\.2\.9\/root\.crl/ });
  const good = await service(false);
  t.teardown(() => good.service.close());
  t.same(chainRevocationVerdict(chain, good.service, new Date()), { verdict: 'accept' });
  const unknown = new RevocationService({ log, trusted: [{ ca: x509(root), policy: 'hard' }], fetch: () => new Promise(() => undefined) });
  t.teardown(() => unknown.close());
  t.match(chainRevocationVerdict(chain, unknown, new Date()), { verdict: 'wait' }, 'hard-fail, both being fetched: held');
});

t.test('IKEv2: a peer sending leaf + revoked intermediate is refused; the sweep ends a live SA once its intermediate is revoked', { skip }, async (t) => {
  const { root, intermediate, leaf } = pki!;
  const ours = testCa();
  const gw = identity(ours, 'b.example', ['b.example']);
  const attempt = (checker: RevocationService) => {
    const a = new IkeEngine([connection('to-b', {
      remoteAddress: '192.0.2.2', localId: 'a.example', remoteId: 'b.example', peerAuth: 'certificate', trustedCas: [der(ours.certificatePem)], localAuth: 'certificate',
      certificate: { der: der(leaf.certificate), key: new Secret(createPrivateKey(leaf.key)), chain: [der(intermediate.certificate)] },
    })], seededCrypto('a'));
    const b = new IkeEngine([connection('to-a', { localId: 'b.example', remoteId: 'a.example', peerAuth: 'certificate', trustedCas: [der(root.certificate)], ...gw.auth, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), { revocation: checker });
    const pair = new EnginePair(a, b);
    pair.take('a', a.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
    pair.run(60_000);
    return { pair, b };
  };
  const bad = await service(true);
  t.teardown(() => bad.service.close());
  const refused = attempt(bad.service);
  t.equal(refused.pair.of('b', 'ike-up').length, 0, 'refused');
  t.ok(refused.pair.logs('b').some((l) => l.includes("intermediate CA certificate 'CN=Outside Intermediate' serial 1a2b is revoked")), 'the log line names the intermediate');

  const good = await service(false);
  t.teardown(() => good.service.close());
  const up = attempt(good.service);
  t.equal(up.pair.of('b', 'ike-up').length, 1, 'an intact path: up');
  const sa = up.b.sas.find((s) => s.state === 'established')!;
  t.equal(sa.peerCertificate?.chain?.length, 2, 'the SA keeps the whole path');
  t.same(revokedSessions(up.b.sas, good.service, new Date()), [], 'the sweep leaves it while the path is good');
  const ended = revokedSessions(up.b.sas, bad.service, new Date());
  t.equal(ended.length, 1, 'once the intermediate is revoked the sweep ends it');
  t.match(ended[0]?.reason, /^intermediate CA certificate 'CN=Outside Intermediate'/);
});

t.test("Postern's SSTP client: the TLS path walked to the root, a revoked intermediate ends the call", { skip }, async (t) => {
  const { root, intermediate, leaf } = pki!;
  const server = createServer({ cert: `${leaf.certificate}${intermediate.certificate}`, key: leaf.key }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'localhost', ca: root.certificate });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const peer = socket.getPeerX509Certificate()!;
  socket.destroy();
  t.same(tlsChain(peer, peer.issuerCertificate!, root.certificate).map((l) => [l.certificate.subject, l.issuer.subject]), [['CN=a.example', 'CN=Outside Intermediate'], ['CN=Outside Intermediate', 'CN=Outside Root']], 'leaf and intermediate, each with its signer; the root not itself checked');
  const bad = await service(true);
  t.teardown(() => bad.service.close());
  t.match(await tlsRevocationCheck(bad.service, log, root.certificate)(peer, peer.issuerCertificate), /^server chain: intermediate CA certificate 'CN=Outside Intermediate' serial 1a2b is revoked/);
  const good = await service(false);
  t.teardown(() => good.service.close());
  t.equal(await tlsRevocationCheck(good.service, log, root.certificate)(peer, peer.issuerCertificate), undefined, 'an intact path: the call goes on');
});
