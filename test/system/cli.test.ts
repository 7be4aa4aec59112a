// The built bundle, exercised as a user would: no node_modules beside it, real processes, real HTTP.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { storedUser } from '../../firmware/config/users.ts';
import { ConfigStore } from '../../firmware/config/store.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startPostern } from '../helpers/postern-process.ts';

const bundle = resolve('dist/postern.js');
if (!existsSync(bundle)) throw new Error('dist/postern.js is missing: run `make build` (make test does)');

/** A copy of the bundle in a directory with no node_modules anywhere above it. */
function isolatedBundle(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  copyFileSync(bundle, join(dir, 'postern.js'));
  return join(dir, 'postern.js');
}

const run = (entry: string, args: string[], cwd?: string) =>
  spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 20_000, env: cleanEnv(), ...(cwd ? { cwd } : {}) });

t.test('--help and version work with no node_modules present', async (t) => {
  const entry = isolatedBundle(t);
  const help = run(entry, ['--help'], '/');
  t.equal(help.status, 0);
  t.match(help.stdout, /postern run/);
  t.match(help.stdout, /config validate FILE/);
  const version = run(entry, ['version'], '/');
  t.equal(version.status, 0);
  t.match(version.stdout, /^postern \d+\.\d+\.\d+ \(/);
});

t.test('an unknown command is a usage error with exit code 2', async (t) => {
  const r = run(bundle, ['frobnicate']);
  t.equal(r.status, 2);
  t.match(r.stderr, /unknown command 'frobnicate'/);
});

t.test('run answers /healthz, serves the page, and stops cleanly on SIGTERM', async (t) => {
  const state = await plainHttpBox(tempDir(t)); // plain HTTP below (a fresh box serves HTTPS)
  const started = Date.now();
  const p = startPostern(t, [isolatedBundle(t)], ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 30_000);
  const base = `http://127.0.0.1:${listening['port'] as number}`;
  const health = (await (await fetch(`${base}/healthz`)).json()) as Record<string, unknown>;
  // A figure, not a pass mark (a loaded machine is slower): the firmware tests report start-to-healthy.
  t.comment(`healthy ${Date.now() - started} ms after the start`);
  t.equal(health['status'], 'ok');
  t.equal(health['configRevision'], 1);
  const page = await (await fetch(`${base}/`)).text();
  t.match(page, /<title>Postern<\/title>/, 'the embedded page');
  // The bundle carries the build's brotli and gzip forms of its content-hashed files (issue 17).
  const script = await fetch(`${base}${/src="(\/app\.[0-9a-f]{12}\.js)"/.exec(page)?.[1] ?? '/none'}`, { headers: { 'accept-encoding': 'br' } });
  t.same([script.status, script.headers.get('content-encoding'), script.headers.get('cache-control')], [200, 'br', 'public, max-age=31536000, immutable'], 'its script, embedded as brotli, cached a year');
  t.match(await script.text(), /^[\s\S]{1000,}$/, 'and decodes to the script');
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
  for (const r of p.records) t.type(r['ts'], 'string', 'structured records carry a timestamp');
  p.child.kill('SIGTERM');
  const exit = await p.exited;
  t.equal(exit.code, 0, 'clean exit');
  t.ok(p.records.some((r) => r['msg'] === 'stopped'), 'logged its stop');
  t.ok(existsSync(join(state, 'config')), 'state kept under --state');
});

t.test('config validate names every bad field and exits 1; a good file exits 0', async (t) => {
  const dir = tempDir(t);
  const state = tempDir(t);
  // Produce a real current document by running once, then read it back through `config show`.
  const p = startPostern(t, [bundle], ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  // A fresh box makes its CA and gateway certificate at start (HTTPS by default): allow for a loaded machine.
  await p.waitFor((r) => r['msg'] === 'started', 15_000);
  p.child.kill('SIGTERM');
  await p.exited;
  const shown = run(bundle, ['config', 'show', '--state', state]);
  t.equal(shown.status, 0, shown.stderr);
  const doc = JSON.parse(shown.stdout) as Record<string, any>;
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(doc));
  const ok = run(bundle, ['config', 'validate', good]);
  t.equal(ok.status, 0, ok.stdout);
  t.match(ok.stdout, /valid/);

  doc['system']['management']['port'] = 70000;
  doc['listeners']['ikev2']['pool'] = 'no-such-pool';
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify(doc));
  const r = run(bundle, ['config', 'validate', bad]);
  t.equal(r.status, 1);
  t.match(r.stdout, /system\.management\.port/);
  t.match(r.stdout, /listeners\.ikev2\.pool/);

  writeFileSync(bad, '{ not json');
  const broken = run(bundle, ['config', 'validate', bad]);
  t.equal(broken.status, 1);
  t.match(broken.stdout, /not a readable JSON document/);
});

t.test('config show redacts secrets', async (t) => {
  const state = tempDir(t);
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  // A CHAP-MD5 user keeps its clear password: the one secret of a user that config show must hide.
  const config = { ...store.current().config, users: [storedUser({ name: 'alice', password: 'Correct-Horse-9', enabled: true, chapMd5: true })] };
  await store.write(config as PosternConfig, { author: 'test' });
  const shown = run(bundle, ['config', 'show', '--state', state]);
  t.equal(shown.status, 0, shown.stderr);
  t.notMatch(shown.stdout, /Correct-Horse-9/);
  t.match(shown.stdout, /alice/);
  const history = run(bundle, ['config', 'history', '--state', state]);
  t.match(history.stdout, /^2\t.*\ttest\t\n1\t.*\tpostern\tinitial configuration$/m, 'both revisions listed, newest first');
});
