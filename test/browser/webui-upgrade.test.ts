// Issue 18 end to end on loopback: postern-launcher (firmware/upgrade/launcher.sh) boots `postern run`
// from slot a; a bundle signed by another key is refused through the API; in Chromium the Firmware page
// uploads a dev-key bundle (3 pieces, progress bar), verifies it and applies it; that version exits at
// start, the launcher falls back to slot a by itself, and the page shows the failed attempt after
// logging in again, and the fleet console (a real mosquitto on loopback) gets the upgrade-failed event.
// Then a good version by the console's fetch-upgrade command: trial boot, healthy, committed.
// The slots' "executables" are sh scripts that run the service from source (tsx); the SEA build is
// covered by test/system firmware tests.
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ConfigStore } from '../../firmware/config/store.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { encodeBundle } from '../../firmware/upgrade/bundle-format.ts';
import { hasBinary } from '../lab/command.ts';
import { mosquittoConf } from '../lab/peers/mosquitto.ts';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { cleanEnv } from '../helpers/env.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const missing = ['mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'mosquitto_passwd'].filter((b) => !hasBinary(b));
const skip = labSkip(browserMissing() ?? (missing.length ? `not installed: ${missing.join(', ')}` : false));
const FLEET = { user: 'fleet', password: 'Fleet-Upgrade-Pass-3' };
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

const slotScript = (note: string) => `#!/bin/sh\n# ${note}\ncd ${JSON.stringify(resolve('.'))}\nexec ${[process.execPath, ...tsEntry('firmware/main.ts')].map((a) => JSON.stringify(a)).join(' ')} "$@"\n`;

t.test('upgrade: refused, applied and rolled back by the launcher, then committed', { skip, timeout: 240_000 }, async (t) => {
  // The dev key pair the source run trusts (scripts/build.mjs makes it for any build; make it if absent).
  if (!existsSync(DEV_KEY)) execFileSync(process.execPath, ['-e', "import('./scripts/upgrade-key.mjs').then((m) => m.ensureDevKeyPair())"]);
  const devKey = createPrivateKey(readFileSync(DEV_KEY, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'postern-upgrade-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const slots = join(dir, 'slots');
  mkdirSync(slots);
  writeFileSync(join(slots, 'a'), slotScript('version in slot a'), { mode: 0o755 });
  // The fleet console's broker on loopback, and a subscriber to everything the gateway says.
  const mqttPort = await freePort();
  execFileSync('mosquitto_passwd', ['-c', '-b', join(dir, 'passwd'), FLEET.user, FLEET.password]);
  writeFileSync(join(dir, 'mosquitto.conf'), mosquittoConf(dir, { address: '127.0.0.1', port: mqttPort, users: {} }));
  const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  t.teardown(() => void broker.kill('SIGKILL'));
  const auth = ['-h', '127.0.0.1', '-p', String(mqttPort), '-u', FLEET.user, '-P', FLEET.password];
  await new Promise((r) => setTimeout(r, 300));
  const sub = spawn('mosquitto_sub', [...auth, '-q', '1', '-t', 'postern/gw-upgrade/#', '-F', '%t %p'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => void sub.kill('SIGKILL'));
  const heard: string[] = [];
  createInterface({ input: sub.stdout }).on('line', (l) => heard.push(l));
  const store = await ConfigStore.open(join(dir, 'state', 'config'), { logger: createLogger({ sink: () => {} }) });
  const config = defaultConfig();
  config.system.management.https = false; // this file talks plain HTTP (a fresh box serves HTTPS)
  config.telemetry.mqtt = { enabled: true, url: `mqtt://127.0.0.1:${mqttPort}`, username: FLEET.user, password: FLEET.password, prefix: 'postern', deviceId: 'gw-upgrade', intervalSeconds: 3600, commandsEnabled: true, upgradeCommand: true };
  await store.write(config, { author: 'test' });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const header = { arch, boards: [`generic-${arch}`], minVersion: '0.0.0', commit: 'test', builtAt: 'now' } as const;

  const launcher = spawn('/bin/sh', [resolve('firmware/upgrade/launcher.sh'), 'run', '--state', join(dir, 'state'), '--management', `127.0.0.1:${port}`, '--only', 'web,telemetry'], {
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

  for (let i = 0; i < 100 && !heard.some((l) => l.includes('"upgrade-failed"')); i++) await new Promise((r) => setTimeout(r, 100));
  const event = heard.find((l) => l.startsWith('postern/gw-upgrade/events ') && l.includes('"upgrade-failed"'));
  t.match(event, /"version":"0\.2\.0"[^]*"reason":"not-committed"/, 'the fleet console heard upgrade-failed');

  // 3. A good version by the console's command: fetched from a URL it names, staged in slot b,
  // trial boot, healthy, committed. A bundle signed by another key is refused in the reply.
  const good = encodeBundle({ ...header, version: '0.3.0' }, Buffer.from(slotScript('version 0.3.0')), devKey);
  const files = createHttpServer((req, res) => void res.end(req.url === '/good.bundle' ? good : foreign)).listen(0, '127.0.0.1');
  t.teardown(() => void files.close());
  await new Promise((r) => files.once('listening', r));
  const fileBase = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
  const command = async (id: string, url: string) => {
    execFileSync('mosquitto_pub', [...auth, '-q', '1', '-t', 'postern/gw-upgrade/cmd', '-m', JSON.stringify({ id, command: 'fetch-upgrade', args: { url } })]);
    for (let i = 0; i < 100; i++) {
      const reply = heard.find((l) => l.startsWith('postern/gw-upgrade/reply ') && l.includes(`"id":"${id}"`));
      if (reply) return JSON.parse(reply.slice(reply.indexOf(' ') + 1)) as { ok: boolean; error?: string };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no reply to ${id}`);
  };
  const foreignReply = await command('u-foreign', `${fileBase}/foreign.bundle`);
  t.same([foreignReply.ok, /POSTERN_ERR_UPGRADE_SIGNATURE/.test(foreignReply.error ?? '')], [false, true], foreignReply.error ?? 'no error');
  t.same(await command('u-good', `${fileBase}/good.bundle`), { schema: 1, id: 'u-good', ok: true });
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
