import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';
import { tsEntry } from '../../helpers/ts-entry.ts';

const withHost = (c: PosternConfig, hostname: string): PosternConfig => ({ ...c, system: { ...c.system, hostname } });

async function open(dir: string, options: { keep?: number } = {}) {
  const { sink, records } = memorySink();
  const store = await ConfigStore.open(dir, { logger: createLogger({ sink }), ...options });
  return { store, records };
}

t.test('a fresh store holds the defaults as revision 1, private files', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(join(dir, 'config'));
  t.equal(store.current().revision, 1);
  t.same(store.current().config, defaultConfig());
  t.equal(statSync(join(dir, 'config')).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'config', 'current.json')).mode & 0o777, 0o600);
});

t.test('writes are validated, numbered, kept in history, and survive reopening', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(dir);
  await t.rejects(store.write(withHost(defaultConfig(), 'no spaces allowed'), { author: 't' }), { code: 'POSTERN_ERR_CONFIG_INVALID' });
  t.same(await store.write(withHost(defaultConfig(), 'a'), { author: 'alice', comment: 'one' }), { revision: 2 });
  t.same(await store.write(withHost(defaultConfig(), 'b'), { author: 'bob' }), { revision: 3 });
  t.same(store.history().map((h) => [h.revision, h.author]), [[3, 'bob'], [2, 'alice'], [1, 'postern']]);
  t.equal((await store.get(2)).system.hostname, 'a');
  const again = (await open(dir)).store;
  t.equal(again.current().revision, 3);
  t.equal(again.current().config.system.hostname, 'b');
  t.same(await again.rollback(2, { author: 'carol' }), { revision: 4 });
  t.equal(again.current().config.system.hostname, 'a');
  t.match(again.history()[0], { revision: 4, comment: 'rollback to revision 2' });
  await t.rejects(again.get(99), { code: 'POSTERN_ERR_CONFIG_UNREADABLE' });
});

t.test('history is pruned to `keep` past revisions', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(dir, { keep: 3 });
  for (let i = 0; i < 6; i++) await store.write(withHost(defaultConfig(), `h${i}`), { author: 't' });
  t.same(store.history().map((h) => h.revision), [7, 6, 5, 4]);
});

t.test('expectedRevision refuses a lost update; in-process writes serialize', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(dir);
  const results = await Promise.allSettled([
    store.write(withHost(defaultConfig(), 'x'), { author: 'a', expectedRevision: 1 }),
    store.write(withHost(defaultConfig(), 'y'), { author: 'b', expectedRevision: 1 }),
  ]);
  t.equal(results[0].status, 'fulfilled');
  t.match(results[1], { status: 'rejected', reason: { code: 'POSTERN_ERR_CONFIG_CONFLICT' } });
  const many = await Promise.all(Array.from({ length: 10 }, (_, i) => store.write(withHost(defaultConfig(), `n${i}`), { author: 'c' })));
  t.same(many.map((r) => r.revision), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

t.test('a corrupt, truncated or invalid current file falls back to the last good revision, loudly', async (t) => {
  for (const [what, damage] of [
    ['truncated', (text: string) => text.slice(0, text.length / 2)],
    ['bit rot', (text: string) => text.replace('"hostname": "good"', '"hostname": "gooc"')],
    ['garbage', () => '\u0000\u0001not json'],
  ] as const) {
    const dir = tempDir(t);
    const { store } = await open(dir);
    await store.write(withHost(defaultConfig(), 'good'), { author: 't' });
    const current = join(dir, 'current.json');
    writeFileSync(current, damage(readFileSync(current, 'utf8')));
    // Damage the history copy of revision 2 too, so the fallback must go one further back.
    writeFileSync(join(dir, 'history', '0000000002.json'), 'oops');
    const { store: reopened, records } = await open(dir);
    t.equal(reopened.current().config.system.hostname, 'postern', `${what}: revision 1's document`);
    t.equal(reopened.current().revision, 3, `${what}: restored as a new revision`);
    t.ok(records.some((r) => r.level === 'error' && /FALLBACK/.test(r.msg) && r['file'] === current), `${what}: a loud error naming the file`);
    t.ok(readdirSync(dir).some((n) => n.startsWith('current.json.corrupt-')), `${what}: the bad file kept for inspection`);
  }
});

t.test('a stored document of an older format is migrated on load and written back', async (t) => {
  const dir = tempDir(t);
  await open(dir);
  const { store: _s } = await open(dir);
  const path = join(dir, 'current.json');
  const envelope = JSON.parse(readFileSync(path, 'utf8'));
  const { sites, users: _u, ...rest } = envelope.config;
  envelope.config = { ...rest, version: 1, peers: sites, users: [{ name: 'old', secret: 'old-password-1', enabled: true }] };
  envelope.sha256 = (await import('node:crypto')).createHash('sha256').update(JSON.stringify(envelope.config)).digest('hex');
  writeFileSync(path, JSON.stringify(envelope));
  const { store } = await open(dir);
  t.equal(store.current().config.version, 3);
  t.same(store.current().config.users, [{ name: 'old', enabled: true, ntHash: ntHashHex('old-password-1') }]);
  t.notOk(readFileSync(path, 'utf8').includes('old-password-1'), 'the clear password is not written back');
  t.match(store.history()[0], { revision: 2, comment: 'migrated from format 1' });
});

t.test('secrets never reach the store log', async (t) => {
  const dir = tempDir(t);
  const { store, records } = await open(dir);
  await store.write({ ...defaultConfig(), users: [storedUser({ name: 'u', password: 'Very-Secret-9', enabled: true, chapMd5: true })] }, { author: 't' });
  t.notOk(JSON.stringify(records).includes('Very-Secret-9'));
});

t.test('two processes writing at once: no corruption, no lost revision, numbers stay monotonic', async (t) => {
  const dir = tempDir(t);
  await open(dir);
  const writer = resolve('test/crash/config-writer.ts');
  const run = (tag: string) => promisify(execFile)(process.execPath, [...tsEntry(writer), dir, tag, '25'], { timeout: 60_000 });
  const [a, b] = await Promise.all([run('A'), run('B')]);
  const acked = [...a.stdout.matchAll(/ack (\d+)/g), ...b.stdout.matchAll(/ack (\d+)/g)].map((m) => Number(m[1]));
  t.equal(acked.length, 50, 'every write acknowledged');
  t.equal(new Set(acked).size, 50, 'no revision number given twice');
  const { store } = await open(dir, { keep: 100 });
  t.equal(store.current().revision, 51);
  t.same(store.history().map((h) => h.revision), Array.from({ length: 51 }, (_, i) => 51 - i), 'every revision on disk');
});

t.test('opening the store removes a dead writer\'s temporary file, never a live writer\'s write in progress', async (t) => {
  const dir = tempDir(t);
  await open(dir);
  const live = `.current.json.tmp-${process.ppid}-${Date.now()}`; // the test runner: alive
  const dead = '.current.json.tmp-999999-1700000000000';
  writeFileSync(join(dir, live), '{"half": ');
  writeFileSync(join(dir, dead), '{"half": ');
  await open(dir);
  const names = readdirSync(dir);
  t.ok(names.includes(live), 'a live process\'s temporary file stays (CI caught a second process deleting it mid-rename)');
  t.notOk(names.includes(dead), 'a dead process\'s is removed');
});

t.test('a lock left by a dead process is broken', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(dir);
  writeFileSync(join(dir, 'lock'), '999999');
  t.same(await store.write(withHost(defaultConfig(), 'z'), { author: 't' }), { revision: 2 });
});

t.test('issue 15.10: a dead writer\'s empty history temporary file is removed at open, a live one\'s kept', async (t) => {
  const dir = tempDir(t);
  const { store } = await open(dir);
  await store.write(withHost(defaultConfig(), 'h'), { author: 't' });
  // A pid that surely ran and ended: a child that exited before we name its file.
  const child = await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const dead = `.0000000003.json.tmp-${child.stdout}-1700000000000`;
  const live = `.0000000003.json.tmp-${process.ppid}-${Date.now()}`;
  writeFileSync(join(dir, 'history', dead), '');
  writeFileSync(join(dir, 'history', live), '');
  const { store: reopened, records } = await open(dir);
  const names = readdirSync(join(dir, 'history'));
  t.notOk(names.includes(dead), 'the killed writer\'s leftover is gone');
  t.ok(names.includes(live), 'a running writer\'s file is not touched');
  t.equal(reopened.current().revision, 2, 'and the store loads as before');
  t.notOk(records.some((r) => r.level === 'error'), 'without a fallback');
});

t.test('issue 15.11: opening a format-2 state dir leaves no clear VPN password in current.json or any history copy', async (t) => {
  const dir = tempDir(t);
  await open(dir);
  const sha = (config: unknown) => createHash('sha256').update(JSON.stringify(config)).digest('hex');
  // Revisions 1 and 2 as format 2 wrote them: users' passwords in clear, in current.json and in history.
  for (const revision of [1, 2]) {
    const config = { ...defaultConfig(), version: 2, users: [{ name: 'carol', password: `Carol-Clear-${revision}`, enabled: true }] };
    const text = JSON.stringify({ revision, writtenAt: '2026-01-01T00:00:00.000Z', author: 'old', comment: `r${revision}`, config, sha256: sha(config) });
    writeFileSync(join(dir, 'history', `000000000${revision}.json`), text);
    if (revision === 2) writeFileSync(join(dir, 'current.json'), text);
  }
  const { store } = await open(dir);
  t.same(store.current().config.users, [{ name: 'carol', enabled: true, ntHash: ntHashHex('Carol-Clear-2') }]);
  const files = [join(dir, 'current.json'), ...readdirSync(join(dir, 'history')).map((n) => join(dir, 'history', n))];
  for (const file of files) t.notMatch(readFileSync(file, 'utf8'), /Carol-Clear/, `${file.slice(dir.length)} has no clear password`);
  t.same((await store.get(1)).users, [{ name: 'carol', enabled: true, ntHash: ntHashHex('Carol-Clear-1') }], 'a past revision is still readable, same number');
  t.match(store.history().map((h) => [h.revision, h.author]), [[3, 'postern'], [2, 'old'], [1, 'old']]);
});
