// Issue 16 in the API's certificate routes: certificates from before the CDP flagged and issued again in
// one step, a revocation republishing the CRL the listener serves, expiry in the list. The routes are
// called directly with a real store and PKI in a temp dir (the HTTP layer has its own tests).
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import type { ApiContext } from '../../../firmware/control/api-context.ts';
import { pkiRoutes } from '../../../firmware/control/routes/pki-routes.ts';
import type { Reply } from '../../../firmware/control/router.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { caFingerprint, crlStaleness, readCrlInfo, revokedDigest } from '../../../firmware/pki/crl-store.ts';
import { describeCertificate } from '../../../firmware/pki/inspect.ts';
import { issueClientCertificate } from '../../../firmware/pki/issue.ts';
import { loadIssued, revokedOf, saveIssued } from '../../../firmware/pki/issued-registry.ts';
import { importPkcs12 } from '../../../firmware/pki/pkcs12.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const log = createLogger({ sink: () => {} });
const PASSWORD = 'Bundle-Pass-1234';

async function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'postern-pkiroutes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(join(dir, 'config'), { logger: log });
  const config: PosternConfig = defaultConfig();
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com', '192.0.2.2'] };
  // As a box upgraded from before issue 16: its certificates were made without a CDP.
  const old = structuredClone(config);
  old.certificates.publication = { enabled: false };
  const now = Date.parse('2026-11-22T12:00:00Z');
  const pki = loadOrCreatePki(dir, old.certificates, log, new Date(now));
  const legacy = issueClientCertificate(pki.ca, { commonName: 'laptop-0', validityDays: 825, now: new Date(now) });
  saveIssued(dir, [{ name: 'laptop-0', serialHex: legacy.serialHex, notAfter: new Date(now + 825 * 86_400_000).toISOString() }]);
  await store.write(config, { author: 'test' });
  const swaps = { count: 0 };
  const ctx = {
    store, logger: log, stateDir: dir, now: () => now, gatewayCertificateChanged: () => void swaps.count++,
    pki: () => loadOrCreatePki(dir, store.current().config.certificates, log, new Date(now)),
  } as unknown as ApiContext;
  const routes = pkiRoutes(ctx);
  const call = async (method: string, path: string, body: unknown = {}, params: Record<string, string> = {}): Promise<Reply> => {
    const route = routes.find((r) => r.method === method && r.path === path);
    if (!route) throw new Error(`no route ${method} ${path}`);
    return route.handler({ req: {} as IncomingMessage, res: {} as ServerResponse, params, query: new URLSearchParams(), session: undefined, body: async () => body });
  };
  const json = (r: Reply) => ('body' in r ? (r.body as any) : undefined);
  return { dir, call, json, legacySerial: legacy.serialHex, swaps };
}

t.test('the list flags certificates without a CDP; the gateway one is issued again in one step', async (t) => {
  const { call, json, swaps } = await setup(t);
  const before = json(await call('GET', '/api/v1/certificates'));
  t.same(before.publication, { crl: 'http://vpn.example.com/pki/ca.crl', caIssuers: 'http://vpn.example.com/pki/ca.crt' });
  t.same(before.server.reissueReasons, ['no CRL distribution point', 'no CA issuer URL']);
  t.same(before.server.crlUrls, []);
  t.match(before.clients, [{ name: 'laptop-0', needsReissue: true }]);
  t.match(before.expiry, [{ role: 'gateway', warning: false }, { role: 'ca', warning: false }], 'expiry of the certificates in use');
  const done = json(await call('POST', '/api/v1/certificates/server/reissue'));
  t.match(done, { ok: true, crlUrls: ['http://vpn.example.com/pki/ca.crl'], caIssuerUrls: ['http://vpn.example.com/pki/ca.crt'] });
  t.not(done.serialHex, before.server.serialHex);
  t.equal(swaps.count, 1, 'the listeners were told to take it up');
  const after = json(await call('GET', '/api/v1/certificates'));
  t.same(after.server.reissueReasons, [], 'nothing left to re-issue');
  t.equal(after.server.serialHex, done.serialHex);
});

t.test('a client certificate issued again: a new bundle with the CDP, the old one kept until revoked', async (t) => {
  const { call, json, dir, legacySerial } = await setup(t);
  const reply = await call('POST', '/api/v1/certificates/clients/:serial/reissue', { password: PASSWORD }, { serial: legacySerial.toUpperCase() });
  if (!('file' in reply)) throw new Error('expected a PKCS#12 file');
  t.equal(reply.contentType, 'application/x-pkcs12');
  t.equal(reply.filename, 'laptop-0.p12');
  const fresh = describeCertificate(importPkcs12(Buffer.from(reply.file), new Secret(PASSWORD)).certificatePem);
  t.equal(fresh.subject, 'CN=laptop-0', 'the same name');
  t.same(fresh.crlUrls, ['http://vpn.example.com/pki/ca.crl'], 'now with the CRL distribution point');
  const records = loadIssued(dir);
  t.match(records, [{ serialHex: legacySerial, reissuedAs: fresh.serialHex }, { serialHex: fresh.serialHex, crlUrl: 'http://vpn.example.com/pki/ca.crl' }]);
  t.notOk(records[0]!.revokedAt, 'the old one is not revoked by re-issuing');
  const list = json(await call('GET', '/api/v1/certificates'));
  t.same(list.clients.map((c: { needsReissue: boolean }) => c.needsReissue), [false, false], 'neither is flagged now');
  const weak = call('POST', '/api/v1/certificates/clients/:serial/reissue', { password: 'short' }, { serial: fresh.serialHex });
  await t.rejects(weak, { code: 'POSTERN_ERR_WEAK_PASSWORD' }, 'the bundle password rules hold');
  t.match(await call('POST', '/api/v1/certificates/clients/:serial/reissue', { password: PASSWORD }, { serial: 'abcdef' }).catch((e: unknown) => e), { status: 404 }, 'an unknown serial');
});

t.test('revocation republishes the CRL at once; a revoked certificate is not issued again', async (t) => {
  const { call, json, dir, legacySerial } = await setup(t);
  json(await call('GET', '/api/v1/certificates/crl'));
  const first = readCrlInfo(dir);
  t.ok(first, 'the download publishes one when none was');
  const revoked = json(await call('POST', '/api/v1/certificates/revoke', { serialHex: legacySerial }));
  t.match(revoked, { ok: true, crl: /-----BEGIN X509 CRL-----/ });
  const info = readCrlInfo(dir)!;
  t.equal(revoked.crlNumber, info.crlNumber.toString());
  t.ok(info.crlNumber > first!.crlNumber, 'a newer CRL');
  const ca = loadOrCreatePki(dir, defaultConfig().certificates, log).ca;
  t.equal(crlStaleness(info, { caFingerprint: caFingerprint(ca), revokedDigest: revokedDigest(revokedOf(loadIssued(dir))) }, info.signedAt), undefined, 'made from the revocation just recorded');
  t.match(await call('POST', '/api/v1/certificates/clients/:serial/reissue', { password: PASSWORD }, { serial: legacySerial }).catch((e: unknown) => e), { status: 409 }, 'revoked: refused');
});
