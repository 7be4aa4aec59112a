// The revocation shell (issue 16) against HTTP servers on loopback (port 0): a CRL fetched once from
// the distribution point and answering for every certificate of its CA; OCSP answered by `openssl
// ocsp` behind the server; oversized, slow and non-http sources giving `unknown`; Postern's own CA
// answered from its state directory, a new revocation there reported.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '../../../firmware/log/logger.ts';
import { httpFetch } from '../../../firmware/revocation/http-fetch.ts';
import { RevocationService } from '../../../firmware/revocation/revocation-service.ts';
import { makeRevocationPki } from '../../lab/revocation-pki.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed');
const log = createLogger({ level: 'error', sink: () => undefined });

async function serve(t: Test, handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('CRL: fetched once from the distribution point, revoked and good answered from it', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  let crl: Buffer = Buffer.alloc(0);
  let requests = 0;
  const base = await serve(t, (_req, _body, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(crl);
  });
  const bad = pki.issue('bad.example', { crl: `${base}/ca.crl` });
  const good = pki.issue('good.example', { crl: `${base}/ca.crl` });
  const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  crl = pki.crl([{ serialHex: bad.serialHex, revokedAt }]);
  const ca = new X509Certificate(pki.ca.certificatePem);
  const service = new RevocationService({ log, trusted: [{ ca, policy: 'hard' }] });
  t.teardown(() => service.close());
  const first = service.check(new X509Certificate(bad.certificatePem), ca);
  t.same(first, { policy: 'hard', status: { status: 'unknown', why: 'being fetched', pending: true } }, 'a miss starts the fetch');
  const answer = await service.checkNow(new X509Certificate(bad.certificatePem), ca);
  t.same(answer.status, { status: 'revoked', source: `CRL from ${base}/ca.crl`, revokedAt });
  t.same(service.check(new X509Certificate(good.certificatePem), ca).status, { status: 'good', source: `CRL from ${base}/ca.crl` }, 'the other certificate: from the same CRL');
  t.equal(requests, 1, 'one fetch for both');
});

t.test('OCSP: asked with a nonce, the answer checked; a CRL-less certificate of an unlisted CA is soft', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const leaves: Array<ReturnType<typeof pki.issue>> = [];
  const revoked = new Map<string, Date>();
  let requests = 0;
  const base = await serve(t, (req, body, res) => {
    requests++;
    const index = pki.writeIndex(leaves, revoked);
    const reqPath = join(pki.dir, 'srv-req.der');
    const respPath = join(pki.dir, 'srv-resp.der');
    writeFileSync(reqPath, body);
    execFileSync('openssl', ['ocsp', '-index', index, '-CA', pki.caPath, '-rsigner', pki.caPath, '-rkey', pki.caKeyPath, '-reqin', reqPath, '-respout', respPath, '-nmin', '10'], { stdio: 'ignore' });
    t.equal(req.headers['content-type'], 'application/ocsp-request');
    res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(readFileSync(respPath));
  });
  const bad = pki.issue('bad.example', { ocsp: `${base}/` });
  const good = pki.issue('good.example', { ocsp: `${base}/` });
  leaves.push(bad, good);
  revoked.set(bad.serialHex, new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000));
  const ca = new X509Certificate(pki.ca.certificatePem);
  const service = new RevocationService({ log });
  t.teardown(() => service.close());
  const r = await service.checkNow(new X509Certificate(bad.certificatePem), ca);
  t.equal(r.policy, 'soft', 'a CA neither ours nor listed: soft');
  t.match(r.status, { status: 'revoked', source: `OCSP from ${base}/` });
  t.match((await service.checkNow(new X509Certificate(good.certificatePem), ca)).status, { status: 'good' });
  t.match(service.check(new X509Certificate(good.certificatePem), ca).status, { status: 'good' }, 'cached until nextUpdate');
  t.equal(requests, 2, 'one request per certificate');
});

t.test('no answer: too large, too slow, a broken CRL, only https: unknown with the reason', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const base = await serve(t, (req, _body, res) => {
    if (req.url === '/big.crl') return res.writeHead(200).end(Buffer.alloc(2 * 1024 * 1024));
    if (req.url === '/broken.crl') return res.writeHead(200).end(Buffer.from('30030201', 'hex'));
    if (req.url === '/missing.crl') return res.writeHead(404).end();
    // slow: never answers
  });
  const ca = new X509Certificate(pki.ca.certificatePem);
  const service = new RevocationService({ log, trusted: [{ ca, policy: 'hard' }], limits: { timeoutMs: 300 } });
  t.teardown(() => service.close());
  const cases: Array<[string, RegExp]> = [['big', /larger than 1048576 bytes/], ['slow', /no answer within 300 ms/], ['broken', /not a CertificateList/], ['missing', /HTTP 404/]];
  for (const [name, why] of cases) {
    const leaf = new X509Certificate(pki.issue(`${name}.example`, { crl: `${base}/${name}.crl` }).certificatePem);
    const r = await service.checkNow(leaf, ca);
    t.match(r.status, { status: 'unknown', pending: false, why }, name);
    t.match(service.check(leaf, ca).status, { status: 'unknown', pending: false }, `${name}: not fetched again at once`);
  }
  const https = new X509Certificate(pki.issue('tls.example', { crl: 'https://127.0.0.1/ca.crl' }).certificatePem);
  t.match(service.check(https, ca).status, { status: 'unknown', pending: false, why: /no http: OCSP responder or CRL/ });
  await t.rejects(httpFetch('file:///etc/passwd'), /only http: URLs/);
});

t.test("Postern's own CA: its state directory's list, no HTTP; a new revocation is reported", { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const state = mkdtempSync(join(tmpdir(), 'postern-own-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  mkdirSync(join(state, 'pki'));
  const alice = pki.issue('alice.example', { crl: 'http://192.0.2.99/never-fetched.crl' });
  const bob = pki.issue('bob.example', {});
  const registry = (revokedBob: boolean) => writeFileSync(join(state, 'pki', 'issued.json'), JSON.stringify([
    { name: 'alice', serialHex: alice.serialHex, notAfter: '2030-01-01T00:00:00Z', revokedAt: '2026-12-01T10:00:00.000Z' },
    { name: 'bob', serialHex: bob.serialHex, notAfter: '2030-01-01T00:00:00Z', ...(revokedBob ? { revokedAt: '2026-12-02T10:00:00.000Z' } : {}) },
  ]));
  registry(false);
  const ca = new X509Certificate(pki.ca.certificatePem);
  let changes = 0;
  const service = new RevocationService({ log, own: { ca, stateDir: state, policy: 'hard' }, pollMs: 50, onChange: () => changes++, fetch: () => Promise.reject(new Error('no HTTP for our own CA')) });
  t.teardown(() => service.close());
  t.same(service.check(new X509Certificate(alice.certificatePem), ca), { policy: 'hard', status: { status: 'revoked', source: "Postern's revocation list", revokedAt: new Date('2026-12-01T10:00:00.000Z') } });
  t.same(service.check(new X509Certificate(bob.certificatePem), ca).status.status, 'good');
  registry(true);
  for (let i = 0; i < 100 && changes === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(changes >= 1, 'the new revocation was reported');
  t.same(service.check(new X509Certificate(bob.certificatePem), ca).status.status, 'revoked');
});

t.test('a held CRL is fetched again in the background; a new revocation in it is reported', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  let crl: Buffer = Buffer.alloc(0);
  let requests = 0;
  const base = await serve(t, (_req, _body, res) => {
    requests++;
    res.writeHead(200).end(crl);
  });
  const leaf = pki.issue('later.example', { crl: `${base}/ca.crl` });
  crl = pki.crl([]);
  const ca = new X509Certificate(pki.ca.certificatePem);
  let changes = 0;
  const service = new RevocationService({ log, trusted: [{ ca, policy: 'hard' }], refreshMs: { min: 100, max: 100 }, onChange: () => changes++ });
  t.teardown(() => service.close());
  t.match((await service.checkNow(new X509Certificate(leaf.certificatePem), ca)).status, { status: 'good' });
  crl = pki.crl([{ serialHex: leaf.serialHex, revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000) }]);
  for (let i = 0; i < 100 && changes === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(changes >= 1, 'the refreshed CRL brought a new revocation');
  t.ok(requests >= 2, 'fetched again without being asked');
  t.match(service.check(new X509Certificate(leaf.certificatePem), ca).status, { status: 'revoked' }, 'and answers from it');
});

t.test('crlRefreshDelay: 80 % of the validity, bounded; a minute after a failure', async (t) => {
  const { crlRefreshDelay } = await import('../../../firmware/revocation/revocation-service.ts');
  const thisUpdate = new Date('2026-12-01T00:00:00Z');
  const nextUpdate = new Date('2026-12-08T00:00:00Z');
  const hour = 3_600_000;
  t.equal(crlRefreshDelay({ thisUpdate, nextUpdate }, thisUpdate, false), 24 * hour, 'a week-long CRL: capped at a day');
  t.ok(Math.abs(crlRefreshDelay({ thisUpdate, nextUpdate }, new Date(thisUpdate.getTime() + 5.5 * 24 * hour), false) - 2.4 * hour) < 1000, 'refreshed at 80 % of its life');
  t.equal(crlRefreshDelay({ thisUpdate, nextUpdate }, new Date('2026-12-07T23:59:00Z'), false), 60_000, 'never sooner than a minute');
  t.equal(crlRefreshDelay({ thisUpdate, nextUpdate: undefined }, thisUpdate, false), hour, 'no nextUpdate: an hour');
  t.equal(crlRefreshDelay({ thisUpdate, nextUpdate }, thisUpdate, true), 60_000, 'after a failure: a minute');
});
