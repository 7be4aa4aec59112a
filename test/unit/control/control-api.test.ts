// The control API over real HTTP on loopback, with a real configuration store and PKI in a temp dir.
// Only what would leave the box (ping) and the running VPN sessions are stand-ins.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import forge from 'node-forge';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { applyConfig } from '../../../firmware/config/transaction.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';
import type { ApiContext, ApiSessionInfo } from '../../../firmware/control/api-context.ts';
import { ControlApi } from '../../../firmware/control/control-api.ts';
import { LogRing } from '../../../firmware/log/log-ring.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { exportPkcs12 } from '../../../firmware/pki/pkcs12.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const ADMIN = 'Tr0ub4dor-and-3';

interface Harness {
  readonly base: string;
  readonly api: ControlApi;
  readonly store: ConfigStore;
  readonly logs: LogRing;
  readonly clock: { now: number };
  readonly disconnected: string[];
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers; raw: Buffer }>;
  login(password?: string): Promise<{ cookie: string; csrf: string }>;
}

async function harness(t: { teardown(fn: () => void): void }): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-api-'));
  const logs = new LogRing();
  const logger = createLogger({ sink: (r) => logs.push(r), level: 'debug' });
  const store = await ConfigStore.open(join(dir, 'config'), { logger });
  const config = defaultConfig();
  config.users = [storedUser({ name: 'bob', password: 'Bobs-Secret-Pass-9', enabled: true })];
  await store.write(config, { author: 'test' });
  const clock = { now: Date.parse('2026-11-22T12:00:00Z') };
  const disconnected: string[] = [];
  const sessions: ApiSessionInfo[] = [{ id: 'sstp-7', protocol: 'sstp', user: 'bob', address: '10.10.0.2', peer: '198.51.100.2', since: clock.now, bytesIn: 10, bytesOut: 20 }];
  const ctx: ApiContext = {
    store, logger, stateDir: dir,
    apply: (next, meta) => applyConfig(store, next, [], meta),
    status: () => ({ status: 'ok', sessions: { sstp: sessions.length } }),
    sessions: () => sessions,
    disconnect: (id) => {
      const at = sessions.findIndex((s) => s.id === id);
      if (at < 0) return false;
      disconnected.push(id);
      sessions.splice(at, 1);
      return true;
    },
    pki: () => loadOrCreatePki(dir, store.current().config.certificates, logger, new Date(clock.now)),
    logs: () => logs.records(),
    interfaces: () => [{ name: 'eth0', mac: '02:00:00:00:00:01', addresses: ['192.0.2.2/24'], state: 'up', rxBytes: 1, txBytes: 2 }],
    siteStates: () => [{ name: 'branch', state: 'up', rxPackets: 5, txPackets: 6 }],
    ping: async (host, count) => ({ sent: count, received: count, output: `pinged ${host}` }),
    now: () => clock.now,
  };
  const api = new ControlApi(ctx);
  const server: Server = createServer((req, res) => void api.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.close();
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call: Harness['call'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const raw = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: res.status, json, headers: res.headers, raw };
  };
  const login = async (password = ADMIN) => {
    const r = await call('POST', '/api/v1/login', { password });
    return { cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: r.json?.csrfToken as string };
  };
  return { base, api, store, logs, clock, disconnected, call, login };
}

const authed = (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });

t.test('first boot: setup sets the admin password once, weak ones are refused with the rule', async (t) => {
  const h = await harness(t);
  t.same((await h.call('GET', '/api/v1/setup')).json, { needed: true, suggestion: { address: '192.0.2.2', private: false } }, 'the WAN\'s address suggested as the public one (issue 17)');
  t.equal((await h.call('GET', '/api/v1/status')).status, 401, 'nothing else works before setup');
  const weak = await h.call('POST', '/api/v1/setup', { password: 'short' });
  t.equal(weak.status, 422);
  t.match(weak.json.error, { code: 'POSTERN_ERR_WEAK_PASSWORD', details: { problems: [{ rule: 'length' }] } });
  t.match((await h.call('POST', '/api/v1/setup', { password: 'postern-admin-postern' })).json.error.details.problems, [{ rule: 'contains-name' }]);
  t.equal((await h.call('POST', '/api/v1/setup', { password: ADMIN })).status, 201);
  t.match(h.store.current().config.admin.passwordHash, /^scrypt\$16384\$8\$1\$/, 'stored as a scrypt hash');
  t.equal((await h.call('POST', '/api/v1/setup', { password: 'Another-Good-1' })).status, 409, 'and never again');
  t.same((await h.call('GET', '/api/v1/setup')).json, { needed: false });
});

t.test('login: an HttpOnly SameSite=Strict cookie and a CSRF token; logout ends the session', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const bad = await h.call('POST', '/api/v1/login', { password: 'wrong' });
  t.equal(bad.status, 401);
  const r = await h.call('POST', '/api/v1/login', { password: ADMIN });
  t.match(r.headers.get('set-cookie'), /^postern_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=1800$/);
  t.match(r.json, { csrfToken: /^[\w-]{40,}$/, sessionTimeoutMinutes: 30 });
  const s = { cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: r.json.csrfToken as string };
  t.equal((await h.call('GET', '/api/v1/status', undefined, { cookie: s.cookie })).status, 200);
  t.equal((await h.call('POST', '/api/v1/logout', {}, authed(s))).status, 200);
  t.equal((await h.call('GET', '/api/v1/status', undefined, { cookie: s.cookie })).status, 401, 'the cookie is dead after logout');
  await h.call('POST', '/api/v1/login', { password: ADMIN });
  h.clock.now += 31 * 60_000;
  t.equal((await h.call('GET', '/api/v1/status', undefined, { cookie: s.cookie })).status, 401, 'and sessions expire when idle');
});

t.test('every route but setup and login refuses a caller without a session', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  for (const route of h.api.router.routes) {
    if (route.public) continue;
    const path = route.path.replace(/:(\w+)/g, 'x');
    const r = await h.call(route.method, path, route.method === 'GET' ? undefined : {});
    t.equal(r.status, 401, `${route.method} ${route.path}`);
    t.equal(r.json?.error?.code, 'POSTERN_ERR_UNAUTHENTICATED');
  }
});

t.test('changes need the CSRF token and a same-origin Origin', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const user = { name: 'carol', password: 'Blue-Kettle-Song-1', enabled: true };
  t.match((await h.call('POST', '/api/v1/users', user, { cookie: s.cookie })).json.error, { code: 'POSTERN_ERR_CSRF' }, 'no token');
  t.equal((await h.call('POST', '/api/v1/users', user, { cookie: s.cookie, 'x-csrf-token': 'nope' })).status, 403, 'wrong token');
  t.match((await h.call('POST', '/api/v1/users', user, { ...authed(s), origin: 'https://evil.example' })).json.error, { code: 'POSTERN_ERR_FORBIDDEN_ORIGIN' });
  t.equal((await h.call('POST', '/api/v1/users', user, { ...authed(s), origin: h.base })).status, 201, 'same origin with the token works');
});

t.test('issue 15.5: 5 failures throttle the address with Retry-After; the right password from it still logs in', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  for (let i = 0; i < 5; i++) t.equal((await h.call('POST', '/api/v1/login', { password: `bad-${i}` })).status, 401);
  const locked = await h.call('POST', '/api/v1/login', { password: 'bad-5' });
  t.equal(locked.status, 429, 'a wrong password from the throttled address');
  t.equal(locked.headers.get('retry-after'), '60', 'the lock doubled with the further failure');
  t.match(locked.json.error, { code: 'POSTERN_ERR_LOCKED_OUT', details: { reason: 'source-throttled', retryAfterSeconds: 60 } });
  const admin = await h.call('POST', '/api/v1/login', { password: ADMIN });
  t.equal(admin.status, 200, 'an administrator sharing the address gets in (the account is not locked)');
  t.same(h.api.login.limiter.tracked, { sources: 0, aggregates: 0, accounts: 0 }, 'a success forgets the address and the account\'s failures');
});

t.test('users: CRUD, password rules, and no password ever in a response or the log', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  t.match((await h.call('POST', '/api/v1/users', { name: 'dave', password: 'dave', enabled: true }, authed(s))).json.error, { code: 'POSTERN_ERR_WEAK_PASSWORD' });
  const created = await h.call('POST', '/api/v1/users', { name: 'dave', password: 'Green-Lantern-Tea-42', enabled: true }, authed(s));
  t.equal(created.status, 201);
  t.equal((await h.call('POST', '/api/v1/users', { name: 'dave', password: 'Green-Lantern-Tea-42', enabled: true }, authed(s))).status, 409, 'no duplicates');
  const list = await h.call('GET', '/api/v1/users', undefined, { cookie: s.cookie });
  t.same(list.json.users.map((u: { name: string }) => u.name), ['bob', 'dave']);
  t.equal((await h.call('PUT', '/api/v1/users/dave', { enabled: false, password: '<redacted>' }, authed(s))).status, 200, 'a change without a new password keeps it');
  t.equal(h.store.current().config.users.find((u) => u.name === 'dave')?.ntHash, ntHashHex('Green-Lantern-Tea-42'), 'stored as its NT hash');
  t.equal((await h.call('DELETE', '/api/v1/users/dave', undefined, authed(s))).status, 200);
  t.equal((await h.call('DELETE', '/api/v1/users/dave', undefined, authed(s))).status, 404);
  const everything = [list.raw.toString(), created.raw.toString(), JSON.stringify(h.logs.records()), (await h.call('GET', '/api/v1/config', undefined, { cookie: s.cookie })).raw.toString()].join('\n');
  for (const secret of ['Green-Lantern-Tea-42', 'Bobs-Secret-Pass-9', ADMIN]) t.notOk(everything.includes(secret), `'${secret.slice(0, 4)}…' never shown`);
});

t.test('config: invalid documents get 422 with field paths, stale revisions 409, history and rollback', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const got = await h.call('GET', '/api/v1/config', undefined, { cookie: s.cookie });
  const doc = got.json.config;
  doc.listeners.sstp.port = 70000;
  const invalid = await h.call('PUT', '/api/v1/config', { config: doc, expectedRevision: got.json.revision }, authed(s));
  t.equal(invalid.status, 422);
  t.match(invalid.json.error.details.issues, [{ path: 'listeners.sstp.port' }]);
  doc.listeners.sstp.port = 8443;
  t.equal((await h.call('PUT', '/api/v1/config', { config: doc, expectedRevision: got.json.revision - 1 }, authed(s))).status, 409, 'stale revision');
  const ok = await h.call('PUT', '/api/v1/config', { config: doc, expectedRevision: got.json.revision }, authed(s));
  t.equal(ok.status, 200);
  t.equal(h.store.current().config.users[0]?.ntHash, ntHashHex('Bobs-Secret-Pass-9'), 'redacted secrets came back as they were');
  t.equal(h.store.current().config.admin.passwordHash?.startsWith('scrypt$'), true, 'so did the admin hash');
  const history = await h.call('GET', '/api/v1/config/history', undefined, { cookie: s.cookie });
  t.ok(history.json.revisions.length >= 3);
  const back = await h.call('POST', '/api/v1/config/rollback', { revision: got.json.revision }, authed(s));
  t.equal(back.status, 200);
  t.equal(h.store.current().config.listeners.sstp.port, 443, 'rolled back');
  t.ok(h.store.current().config.admin.passwordHash, 'but not the admin password');
  const exported = await h.call('GET', '/api/v1/config/export', undefined, { cookie: s.cookie });
  t.match(exported.headers.get('content-disposition'), /attachment; filename="postern-config-r\d+\.json"/);
  t.notOk(exported.raw.toString().includes('Bobs-Secret-Pass-9'), 'exports are redacted unless asked');
  t.equal((await h.call('GET', '/api/v1/config/export?secrets=1', undefined, { cookie: s.cookie })).status, 400, 'secrets only with the admin password again (issue 15.11)');
});

t.test('interfaces with their roles; sites with their live state, sent back unchanged', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  t.match((await h.call('GET', '/api/v1/interfaces', undefined, { cookie: s.cookie })).json.interfaces, [{ name: 'eth0', role: 'wan', addresses: ['192.0.2.2/24'] }]);
  t.equal((await h.call('PUT', '/api/v1/interfaces/lan', { address: '10.9.0.1/24' }, authed(s))).status, 200);
  t.equal(h.store.current().config.system.lan.address, '10.9.0.1/24');
  t.equal((await h.call('PUT', '/api/v1/interfaces/lan', { address: 'nonsense' }, authed(s))).status, 422, 'validated like any change');
  const site = { name: 'branch', protocol: 'ikev2', remote: '198.51.100.7', localSubnets: ['10.9.0.0/24'], remoteSubnets: ['10.3.0.0/24'], auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true };
  t.equal((await h.call('POST', '/api/v1/sites', site, authed(s))).status, 201);
  const shown = (await h.call('GET', '/api/v1/sites/branch', undefined, { cookie: s.cookie })).json;
  t.match(shown, { state: 'up', rxPackets: 5, psk: '<redacted>' });
  t.equal((await h.call('PUT', '/api/v1/sites/branch', shown, authed(s))).status, 200, 'what was shown can be saved back');
  t.equal(h.store.current().config.sites[0]?.psk, 'a-long-site-psk-0123456789', 'the PSK kept');
  // A PPP site's password is write-only like the PSK (it was shown in clear before).
  const pptp = { name: 'legacy', protocol: 'pptp', remote: '198.51.100.8', localSubnets: ['10.9.0.0/24'], remoteSubnets: ['10.4.0.0/24'], auth: 'psk', username: 'branch', password: 'Pptp-Site-Pass-77', initiate: true, enabled: true };
  const created = await h.call('POST', '/api/v1/sites', pptp, authed(s));
  t.equal(created.status, 201);
  const listed = (await h.call('GET', '/api/v1/sites', undefined, { cookie: s.cookie }));
  t.notOk(created.raw.toString().includes('Pptp-Site-Pass-77') || listed.raw.toString().includes('Pptp-Site-Pass-77'), 'the password is in no answer');
  const legacy = (await h.call('GET', '/api/v1/sites/legacy', undefined, { cookie: s.cookie })).json;
  t.match(legacy, { username: 'branch', password: '<redacted>' });
  t.equal((await h.call('PUT', '/api/v1/sites/legacy', legacy, authed(s))).status, 200, 'and saved back');
  t.equal(h.store.current().config.sites.find((x) => x.name === 'legacy')?.password, 'Pptp-Site-Pass-77', 'the password kept');
});

t.test('PPTP can be enabled, with a warning; unknown listeners are 404', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  t.match((await h.call('PUT', '/api/v1/listeners/pptp', { enabled: true }, authed(s))).json, { warning: /insecure/ });
  t.equal((await h.call('PUT', '/api/v1/listeners/openvpn', { enabled: true }, authed(s))).status, 404);
});

t.test('sessions: listed and disconnected; diagnostics ping bounded and validated', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  t.match((await h.call('GET', '/api/v1/sessions', undefined, { cookie: s.cookie })).json.sessions, [{ id: 'sstp-7', user: 'bob' }]);
  t.equal((await h.call('DELETE', '/api/v1/sessions/sstp-7', undefined, authed(s))).status, 200);
  t.same(h.disconnected, ['sstp-7']);
  t.equal((await h.call('DELETE', '/api/v1/sessions/sstp-7', undefined, authed(s))).status, 404);
  t.equal((await h.call('POST', '/api/v1/diagnostics/ping', { host: '10.2.0.10', count: 2 }, authed(s))).json.received, 2);
  t.equal((await h.call('POST', '/api/v1/diagnostics/ping', { host: '10.2.0.10; reboot', count: 2 }, authed(s))).status, 400);
  t.equal((await h.call('POST', '/api/v1/diagnostics/ping', { host: '10.2.0.10', count: 100 }, authed(s))).status, 400);
});

t.test('certificates: a client PKCS#12 that opens with its password; revocation lands in the CRL; profiles download', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const r = await h.call('POST', '/api/v1/certificates/clients', { name: 'laptop-1', password: 'Bundle-Pass-1234' }, authed(s));
  t.equal(r.status, 200);
  t.equal(r.headers.get('content-type'), 'application/x-pkcs12');
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(r.raw.toString('binary'))), 'Bundle-Pass-1234');
  const bagType = forge.pki.oids['certBag'] as string;
  const certs = p12.getBags({ bagType })[bagType] ?? [];
  t.ok(certs.some((b: forge.pkcs12.Bag) => b.cert?.subject.getField('CN')?.value === 'laptop-1'), 'the bundle holds the client certificate');
  const info = await h.call('GET', '/api/v1/certificates', undefined, { cookie: s.cookie });
  const serial = info.json.clients[0].serialHex as string;
  t.equal((await h.call('POST', '/api/v1/certificates/revoke', { serialHex: serial }, authed(s))).status, 200);
  const crl = (await h.call('GET', '/api/v1/certificates/crl', undefined, { cookie: s.cookie })).raw.toString();
  t.match(crl, /-----BEGIN X509 CRL-----/);
  const profile = await h.call('GET', '/api/v1/profiles/bob/windows', undefined, { cookie: s.cookie });
  t.match(profile.raw.toString(), /Add-VpnConnection/);
  t.equal((await h.call('GET', '/api/v1/profiles/nobody/windows', undefined, { cookie: s.cookie })).status, 404);
});

t.test('an outside gateway certificate is imported (PKCS#12) and kept; bad bundles are refused', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const now = new Date(h.clock.now);
  const outside = createCa({ commonName: 'Outside Public CA', validityDays: 30, keyType: 'ecdsa-p256', now });
  const leaf = issueServerCertificate(outside, { commonName: 'vpn.example.org', sans: ['vpn.example.org'], validityDays: 30, now });
  const other = issueServerCertificate(outside, { commonName: 'other.example.org', sans: ['other.example.org'], validityDays: 30, now });
  const p12 = exportPkcs12({ certificatePem: leaf.certificatePem, keyPem: leaf.keyPem, caPem: outside.certificatePem, password: new Secret('Import-Pass-123'), friendlyName: 'vpn' });
  t.equal((await h.call('POST', '/api/v1/certificates/import', { target: 'server', pkcs12: p12.toString('base64'), password: 'wrong' }, authed(s))).status, 422, 'a wrong bundle password');
  t.match((await h.call('POST', '/api/v1/certificates/import', { target: 'server', certificatePem: leaf.certificatePem, keyPem: other.keyPem.reveal() }, authed(s))).json.error, { message: /does not belong/ });
  t.match((await h.call('POST', '/api/v1/certificates/import', { target: 'ca', certificatePem: leaf.certificatePem, keyPem: leaf.keyPem.reveal() }, authed(s))).json.error, { message: /not a CA/ });
  const ok = await h.call('POST', '/api/v1/certificates/import', { target: 'server', pkcs12: p12.toString('base64'), password: 'Import-Pass-123' }, authed(s));
  t.equal(ok.status, 200);
  const info = await h.call('GET', '/api/v1/certificates', undefined, { cookie: s.cookie });
  t.match(info.json.server.subject, /vpn\.example\.org/, 'the gateway now presents the imported certificate');
  t.match(info.json.server.issuer, /Outside Public CA/);
  t.match((await h.call('GET', '/api/v1/certificates', undefined, { cookie: s.cookie })).json.server.subject, /vpn\.example\.org/, 'and it is not re-issued for the configured names');
});

t.test('trusted CAs: added with what they are, refused at the field when not a CA, removed', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const now = new Date(h.clock.now);
  const peerCa = createCa({ commonName: 'Branch Gateway CA', validityDays: 365, keyType: 'ecdsa-p256', now });
  t.same((await h.call('GET', '/api/v1/trusted-cas', undefined, { cookie: s.cookie })).json, { 'trusted-cas': [] }, 'none at first');
  const leaf = issueServerCertificate(peerCa, { commonName: 'gw.example', sans: ['gw.example'], validityDays: 30, now });
  const notCa = await h.call('POST', '/api/v1/trusted-cas', { name: 'branch', certificate: leaf.certificatePem }, authed(s));
  t.equal(notCa.status, 422, 'a gateway certificate is not a CA');
  t.match(notCa.json.error.details.issues, [{ path: 'certificates.trusted[0].certificate' }], `refused at its field: ${JSON.stringify(notCa.json.error)}`);
  const added = await h.call('POST', '/api/v1/trusted-cas', { name: 'branch', certificate: peerCa.certificatePem, revocation: 'off', subject: 'sent back from a listing: dropped' }, authed(s));
  t.equal(added.status, 201, JSON.stringify(added.json));
  const [listed] = (await h.call('GET', '/api/v1/trusted-cas', undefined, { cookie: s.cookie })).json['trusted-cas'];
  t.match(listed, { name: 'branch', revocation: 'off', subject: /Branch Gateway CA/, notAfter: String, fingerprintSha256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ }, 'listed with its subject, expiry and fingerprint');
  t.same(h.store.current().config.certificates.trusted, [{ name: 'branch', certificate: peerCa.certificatePem, revocation: 'off' }], 'stored as given, without the display fields');
  t.equal((await h.call('DELETE', '/api/v1/trusted-cas/branch', undefined, authed(s))).status, 200);
  t.same(h.store.current().config.certificates.trusted, [], 'removed');
});

t.test('random bodies and paths never cause a 5xx', async (t) => {
  const h = await harness(t);
  await h.call('POST', '/api/v1/setup', { password: ADMIN });
  const s = await h.login();
  const paths = h.api.router.routes.map((r) => [r.method, r.path] as const);
  await fc.assert(fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), fc.string({ maxLength: 12 }), async ([method, path], body, segment) => {
    const r = await h.call(method, path.replace(/:(\w+)/g, encodeURIComponent(segment) || 'x'), method === 'GET' ? undefined : body, authed(s));
    return r.status < 500;
  }), { numRuns: 150 });
  t.equal(h.api.counters.errors, 0, 'no internal errors');
});
