// Issue 18 end to end on loopback: postern-launcher (firmware/upgrade/launcher.sh) boots `postern run`
// from slot a; a bundle signed by another key is refused through the API; in Chromium the Firmware page
// uploads a dev-key bundle (3 pieces, progress bar), verifies it and applies it; that version exits at
// start, the launcher falls back to slot a by itself, and the page shows the failed attempt after
// logging in again. Then a good version through the API: trial boot, healthy, committed.
// The slots' "executables" are sh scripts that run the service from source (tsx); the SEA build is
// covered by test/system firmware tests.
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { encodeBundle } from '../../firmware/upgrade/bundle-format.ts';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { cleanEnv } from '../helpers/env.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Copper-Wire-Falcon-55';
const WAIT = { timeout: 20_000 };
const DEV_KEY = '.cache/upgrade-keys/dev-signing.pem';

/** A free loopback port now (the box must come back on the same one for the page to find it). */
const freePort = () => new Promise<number>((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => r(port));
  });
});

const slotScript = (note: string) => `#!/bin/sh\n# ${note}\ncd ${JSON.stringify(resolve('.'))}\nexec ${JSON.stringify(process.execPath)} --import tsx firmware/main.ts "$@"\n`;

t.test('upgrade: refused, applied and rolled back by the launcher, then committed', { skip, timeout: 240_000 }, async (t) => {
  // The dev key pair the source run trusts (scripts/build.mjs makes it for any build; make it if absent).
  if (!existsSync(DEV_KEY)) execFileSync(process.execPath, ['-e', "import('./scripts/upgrade-key.mjs').then((m) => m.ensureDevKeyPair())"]);
  const devKey = createPrivateKey(readFileSync(DEV_KEY, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'postern-upgrade-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const slots = join(dir, 'slots');
  mkdirSync(slots);
  writeFileSync(join(slots, 'a'), slotScript('version in slot a'), { mode: 0o755 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const header = { arch, boards: [`generic-${arch}`], minVersion: '0.0.0', commit: 'test', builtAt: 'now' } as const;

  const launcher = spawn('/bin/sh', [resolve('firmware/upgrade/launcher.sh'), 'run', '--state', join(dir, 'state'), '--management', `127.0.0.1:${port}`, '--only', 'web'], {
    env: cleanEnv({ POSTERN_SLOTS_DIR: slots }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => launcher.on('exit', r));
  t.teardown(async () => {
    launcher.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    launcher.kill('SIGKILL');
  });
  const lines: string[] = [];
  let launcherSays = '';
  launcher.stderr.on('data', (d: Buffer) => (launcherSays += d.toString()));
  createInterface({ input: launcher.stdout }).on('line', (l) => lines.push(l));
  /** Waits (bounded) until the n-th 'web listening' line: the n-th start of the service. */
  const started = async (n: number) => {
    for (let i = 0; i < 600; i++) {
      if (lines.filter((l) => l.includes('"web listening"')).length >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`start ${n} not seen; launcher: ${launcherSays}\n${lines.slice(-10).join('\n')}`);
  };
  await started(1);

  // The API as a script would use it.
  let cookie = '';
  let csrf = '';
  const call = async (method: string, path: string, body?: unknown, raw?: Buffer) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method, headers: { cookie, 'x-csrf-token': csrf, ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as any };
  };
  const login = async () => {
    const res = await fetch(`${base}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: ADMIN }) });
    csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };
  const putBundle = async (bundle: Buffer, piece: number) => {
    let last: { status: number; json: any } = { status: 0, json: {} };
    for (let offset = 0; offset < bundle.length; offset += piece) last = await call('PUT', `/upgrade/bundle?offset=${offset}&total=${bundle.length}`, undefined, bundle.subarray(offset, offset + piece));
    return last;
  };
  t.equal((await call('POST', '/setup', { password: ADMIN })).status, 201);
  await login();
  const fresh = await call('GET', '/upgrade');
  t.same([fresh.json.available, fresh.json.running.slot, fresh.json.devKey], [true, 'a', true], 'slot a runs, started by the launcher, trusting the dev key');

  // 1. Signed by another key: refused, with its code, nothing staged.
  const stranger = generateKeyPairSync('ed25519').privateKey;
  const foreign = encodeBundle({ ...header, version: '0.2.0' }, Buffer.from(slotScript('foreign')), stranger);
  const refused = await putBundle(foreign, 64 * 1024);
  t.equal(refused.status, 422);
  t.equal(refused.json.error.code, 'POSTERN_ERR_UPGRADE_SIGNATURE', refused.json.error.message);
  t.equal((await call('GET', '/upgrade')).json.staged, null, 'nothing staged');
  t.equal((await call('POST', '/upgrade/apply')).status, 409, 'nothing to apply');

  // 2. In the browser: a dev-key bundle whose executable exits at start, 2.5 MB (three pieces).
  const broken = encodeBundle({ ...header, version: '0.2.0' }, Buffer.from(`#!/bin/sh\necho broken build >&2\nexit 1\n${'# padding\n'.repeat(250_000)}`), devKey);
  writeFileSync(join(dir, 'postern-0.2.0.bundle'), broken);
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const uiLogin = async () => {
    await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
    await page.fill('input[name=password]', ADMIN);
    await page.click('button[type=submit]');
    await page.getByRole('region', { name: 'dashboard' }).or(page.getByRole('region', { name: 'firmware status' })).first().waitFor(WAIT);
  };
  await page.goto(`${base}/#firmware`);
  await uiLogin();
  await page.getByRole('region', { name: 'firmware status' }).waitFor(WAIT);
  const form = page.getByRole('form', { name: 'upload bundle' });
  await form.locator('input[name=bundle]').setInputFiles(join(dir, 'postern-0.2.0.bundle'));
  await form.locator('button[name=upload]').click();
  await page.getByTestId('verdict').filter({ hasText: 'Verified: version 0.2.0' }).waitFor(WAIT);
  t.equal(await page.getByTestId('upload-progress').textContent(), '100 %', 'the progress bar reached the end');
  await screenshot(page, '18-01-upgrade-verified');
  await form.locator('button[name=apply]').click();
  await page.locator('dialog.confirm').waitFor(WAIT);
  await page.locator('dialog.confirm button', { hasText: 'Upgrade to 0.2.0' }).click();
  // The launcher boots slot b on trial; it exits; slot a runs again, by itself.
  await started(2);
  await uiLogin();
  await page.goto(`${base}/#firmware`);
  await page.getByTestId('last-failure').waitFor(WAIT);
  const failure = await page.getByTestId('last-failure').textContent();
  t.match(failure, /upgrade to 0\.2\.0 failed/);
  t.match(failure, new RegExp(String(new Date().getFullYear())), 'dated today (the launcher writes epoch seconds)');
  await screenshot(page, '18-02-upgrade-rolled-back');
  await login();
  const after = (await call('GET', '/upgrade')).json;
  t.same([after.running.slot, after.lastFailure?.version, after.lastFailure?.reason], ['a', '0.2.0', 'not-committed']);
  t.match(launcherSays, /booting slot b on trial[^]*trial of slot b \(0\.2\.0\) failed: not-committed; booting slot a again/);
  t.ok(lines.some((l) => l.includes('upgrade failed and was rolled back')), 'slot a logged the rollback');

  // 3. A good version through the API: staged in slot b, trial boot, healthy, committed.
  const good = encodeBundle({ ...header, version: '0.3.0' }, Buffer.from(slotScript('version 0.3.0')), devKey);
  const staged = await putBundle(good, 100);
  t.same([staged.status, staged.json.staged?.version, staged.json.staged?.slot], [200, '0.3.0', 'b']);
  t.equal((await call('POST', '/upgrade/apply')).status, 202);
  await started(3);
  let status: any;
  for (let i = 0; i < 100; i++) {
    await login().catch(() => undefined);
    status = (await call('GET', '/upgrade').catch(() => ({ json: {} }))).json;
    if (status.lastCommit?.version === '0.3.0') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.same([status.running?.slot, status.running?.trial, status.lastCommit?.version, status.pendingTrial], ['b', false, '0.3.0', null], 'slot b committed');
  t.same(errors, [], 'no script errors in the page');
});
