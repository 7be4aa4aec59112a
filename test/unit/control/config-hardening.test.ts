// Issue 15 findings 3, 6, 7 and 11 through the control API: what a careless operator or a hostile
// body can send to the configuration routes, and what is stored and answered.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { controlHarness, HARNESS_ADMIN } from '../../helpers/control-harness.ts';

const BOB = 'Bobs-Secret-Pass-9';
const withBob = (c: ReturnType<typeof defaultConfig>) => void (c.users = [storedUser({ name: 'bob', password: BOB, enabled: true })]);

/** Every file the store keeps, as text. */
const storeFiles = (stateDir: string): string => {
  const dir = join(stateDir, 'config');
  return [join(dir, 'current.json'), ...readdirSync(join(dir, 'history')).map((n) => join(dir, 'history', n))].map((f) => readFileSync(f, 'utf8')).join('\n');
};

t.test('issue 15.6: __proto__ in PUT /interfaces/wan is refused with 422 at the field, nothing stored', async (t) => {
  const h = await controlHarness(t);
  const before = h.store.current().revision;
  const r = await h.call('PUT', '/api/v1/interfaces/wan', '{"mode":"static","__proto__":{"address":"203.0.113.9/24","gateway":"203.0.113.1"}}', { raw: true });
  t.equal(r.status, 422);
  t.match(r.json.error, { code: 'POSTERN_ERR_CONFIG_INVALID', details: { issues: [{ path: 'system.wan.__proto__', code: 'reserved' }] } });
  t.equal(h.store.current().revision, before, 'no revision committed');
  t.equal(Object.getPrototypeOf(h.store.current().config.system.wan), Object.prototype, 'the running section kept its prototype');
  const ctor = await h.call('POST', '/api/v1/users', '{"name":"eve","password":"Quiet-Harbour-Lamp-77","enabled":true,"constructor":{"x":1}}', { raw: true });
  t.match(ctor.json.error?.details?.issues, [{ path: 'users[0].constructor', code: 'reserved' }]);
  const inherited = await h.call('PUT', '/api/v1/listeners/sstp', { toString: 'x' });
  t.match(inherited.json.error?.details?.issues, [{ path: 'listeners.sstp.toString', code: 'unknown' }], 'an inherited name is not a known setting');
  t.equal(h.api.counters.errors, 0);
});

t.test('issue 15.7: an import nested 5,000 deep answers 400 with the reason, not 500', async (t) => {
  const h = await controlHarness(t);
  const body = `{"config":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
  const r = await h.call('POST', '/api/v1/config/import', body, { raw: true });
  t.equal(r.status, 400);
  t.match(r.json.error, { code: 'POSTERN_ERR_BAD_REQUEST', message: /nested deeper than 64 levels/, details: { reason: /nested deeper/ } });
  t.equal(h.api.counters.errors, 0, 'no internal error');
  t.equal((await h.call('GET', '/api/v1/config')).status, 200, 'and the API still answers');
});

t.test('issue 15.3: an import the store could not load is refused (422 at version), and what was acknowledged loads', async (t) => {
  const h = await controlHarness(t, withBob);
  const doc = (await h.call('GET', '/api/v1/config')).json.config;
  const before = h.store.current().revision;
  const r = await h.call('POST', '/api/v1/config/import', { config: { ...doc, version: 999 } });
  t.equal(r.status, 422);
  t.match(r.json.error.details.issues, [{ path: 'version', message: /newer than this firmware/ }]);
  t.equal(h.store.current().revision, before);
  const ok = await h.call('POST', '/api/v1/config/import', { config: { ...doc, system: { ...doc.system, hostname: 'branch-7' } } });
  t.equal(ok.status, 200);
  const { sink, records } = memorySink();
  const fresh = await ConfigStore.open(join(h.stateDir, 'config'), { logger: createLogger({ sink }) });
  t.equal(fresh.current().revision, ok.json.revision, 'the acknowledged revision is the one a fresh store loads');
  t.same(fresh.current().config, h.store.current().config);
  t.same(records.filter((x) => x.level === 'error'), [], 'without fallback');
});

t.test('issue 15.11: users are stored as NT hashes; the password never reaches a file, a response or the log', async (t) => {
  const h = await controlHarness(t, withBob);
  const created = await h.call('POST', '/api/v1/users', { name: 'dave', password: 'Green-Lantern-Tea-42', enabled: true });
  t.equal(created.status, 201);
  const dave = () => h.store.current().config.users.find((u) => u.name === 'dave');
  t.same(dave(), { name: 'dave', enabled: true, ntHash: ntHashHex('Green-Lantern-Tea-42') });
  t.notOk(storeFiles(h.stateDir).includes('Green-Lantern-Tea-42'), 'not in current.json nor any history copy');
  t.notOk(storeFiles(h.stateDir).includes(BOB));
  const listed = await h.call('GET', '/api/v1/users');
  t.notMatch(listed.text, /ntHash|password/, 'neither the hash nor a password is shown');
  t.equal((await h.call('PUT', '/api/v1/users/dave', { enabled: false })).status, 200);
  t.same(dave(), { name: 'dave', enabled: false, ntHash: ntHashHex('Green-Lantern-Tea-42') }, 'a change without a password keeps the hash');
  t.equal((await h.call('PUT', '/api/v1/users/dave', { enabled: true, password: 'Yellow-Kite-River-8' })).status, 200);
  t.equal(dave()?.ntHash, ntHashHex('Yellow-Kite-River-8'), 'a new password, a new hash');
  t.notOk(JSON.stringify(h.logs.records()).match(/Green-Lantern|Yellow-Kite|Bobs-Secret/));
});

t.test('issue 15.11: a CHAP-MD5 user keeps the password in clear, and the answer says it is insecure', async (t) => {
  const h = await controlHarness(t);
  const r = await h.call('POST', '/api/v1/users', { name: 'router', password: 'Copper-Wire-Falcon-55', chapMd5: true, enabled: true });
  t.equal(r.status, 201);
  t.match(r.json.warnings.find((w: { path: string }) => w.path === 'users[0].chapMd5'), { code: 'insecure', message: /in clear/ });
  t.same(h.store.current().config.users[0], { name: 'router', chapMd5: true, enabled: true, ntHash: ntHashHex('Copper-Wire-Falcon-55'), password: 'Copper-Wire-Falcon-55' });
  t.equal((await h.call('PUT', '/api/v1/users/router', { chapMd5: true, enabled: false })).status, 200, 'a change keeps what CHAP-MD5 needs');
  t.equal(h.store.current().config.users[0]?.password, 'Copper-Wire-Falcon-55');
  t.equal((await h.call('PUT', '/api/v1/users/router', { chapMd5: false, enabled: true })).status, 200);
  t.equal(h.store.current().config.users[0]?.password, undefined, 'turning CHAP-MD5 off drops the clear password');
});

t.test('issue 15.11: exporting secrets needs the administrator password again; GET ?secrets=1 is refused', async (t) => {
  const h = await controlHarness(t, withBob);
  const get = await h.call('GET', '/api/v1/config/export?secrets=1');
  t.equal(get.status, 400);
  t.match(get.json.error, { code: 'POSTERN_ERR_BAD_REQUEST', message: /administrator password.*POST \/api\/v1\/config\/export/ });
  t.match((await h.call('POST', '/api/v1/config/export', { secrets: true })).json.error, { code: 'POSTERN_ERR_BAD_REQUEST', details: { field: 'password' } });
  const wrong = await h.call('POST', '/api/v1/config/export', { secrets: true, password: 'not-the-admin' });
  t.equal(wrong.status, 403);
  t.notMatch(wrong.text, new RegExp(ntHashHex(BOB)));
  const redacted = await h.call('POST', '/api/v1/config/export', {});
  t.notOk(redacted.text.includes(ntHashHex(BOB)), 'without secrets: redacted');
  const full = await h.call('POST', '/api/v1/config/export', { secrets: true, password: HARNESS_ADMIN });
  t.equal(full.status, 200);
  t.ok(full.text.includes(ntHashHex(BOB)), 'with the password: the users\' hashes, to move them to another box');
  t.notOk(full.text.includes(BOB), 'and never a password that is not kept');
  t.ok(h.logs.records().some((r) => r.msg.includes('refused') && r.level === 'warn'), 'the wrong password is logged');
});

t.test('issue 15.11: guessing the administrator password through the export is throttled like a login', async (t) => {
  const h = await controlHarness(t);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await h.call('POST', '/api/v1/config/export', { secrets: true, password: `guess-${i}` })).status);
  t.same(statuses.slice(0, 5), [403, 403, 403, 403, 403], 'the first wrong passwords are refused as wrong');
  t.ok(statuses.slice(5).every((s) => s === 429 || s === 403) && statuses.slice(5).includes(429), `then the source is throttled: ${statuses.join(' ')}`);
});

t.test('issue 15.11: an import of a format-2 document converts clear passwords to NT hashes', async (t) => {
  const h = await controlHarness(t);
  const doc = { ...defaultConfig(), version: 2, users: [{ name: 'erin', password: 'Erins-Old-Pass-31', enabled: true }] };
  const r = await h.call('POST', '/api/v1/config/import', { config: doc });
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.same(h.store.current().config.users, [{ name: 'erin', enabled: true, ntHash: ntHashHex('Erins-Old-Pass-31') }]);
  t.equal(h.store.current().config.version, 3);
  t.notOk(storeFiles(h.stateDir).includes('Erins-Old-Pass-31'));
});
