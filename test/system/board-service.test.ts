// Issue 18: `postern run --board FILE` drives the board: LEDs in a fake sysfs, the watchdog (a plain
// file standing in for /dev/watchdog: each keepalive is a byte, a clean stop writes the magic 'V'),
// the reset button (a FIFO standing in for the evdev device); the API shows the board; factory reset
// from the API (admin password and the typed confirmation) and from the button held, each ending in
// the first-boot state (no admin password). Loopback only: --only web binds no VPN ports.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FACTORY_RESET_CONFIRM } from '../../firmware/system/factory-reset.ts';
import { boxFetch } from '../helpers/box-https.ts';
import { cleanEnv } from '../helpers/env.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const ADMIN = 'Board-Test-Pass-42';
const KEY_RESTART = 408;

/** One linux input_event (64-bit): timeval, type, code, value. */
const keyEvent = (value: number): Buffer => {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(1, 16);
  b.writeUInt16LE(KEY_RESTART, 18);
  b.writeInt32LE(value, 20);
  return b;
};

t.test('the board in the running service: LEDs, watchdog, API, factory reset by API and by button', async (t) => {
  t.setTimeout(90_000);
  const t0 = Date.now();
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const leds = join(dir, 'sys');
  // The profile names real sysfs paths; POSTERN_SYS_ROOT puts them under the test's directory.
  const led = (name: string) => {
    mkdirSync(join(leds, 'sys/class/leds', name), { recursive: true });
    writeFileSync(join(leds, 'sys/class/leds', name, 'brightness'), '0');
    return `/sys/class/leds/${name}`;
  };
  const watchdog = join(dir, 'watchdog');
  writeFileSync(watchdog, '');
  const button = join(dir, 'event0');
  execFileSync('mkfifo', [button]);
  const board = {
    name: 'test-board', title: 'Test board (fake sysfs)', architecture: process.arch === 'arm64' ? 'arm64' : 'x64',
    interfaces: [{ name: 'lo', role: 'wan', label: 'WAN' }, { name: 'lan0', role: 'lan', label: 'LAN' }],
    leds: [{ path: led('power'), shows: 'power' }, { path: led('wan'), shows: 'wan-up' }, { path: led('tunnels'), shows: 'tunnels-up' }, { path: led('error'), shows: 'error' }],
    resetButton: { input: button, keyCode: KEY_RESTART, holdSeconds: 3 },
    watchdog,
    storage: { stateDir: state, layout: 'image-path', imagePath: '/usr/local/bin/postern' },
    kernel: { xfrmEsp: false, multiqueueTun: true, udpSegmentationOffload: false },
  };
  const boardFile = join(dir, 'test-board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  // The reset button's device is open for the whole run (a FIFO reader needs a writer to go on).
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web', '--board', boardFile], { ...cleanEnv(), POSTERN_SYS_ROOT: leds });
  const bound = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  // A fresh box serves HTTPS (issue 17): the test trusts the box's own CA, the new one after each reset.
  t.equal(bound['https'], true, 'a fresh box serves the management over HTTPS');
  const base = `https://127.0.0.1:${String(bound['port'])}/api/v1`;
  const fetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => boxFetch(join(state, 'pki', 'ca.pem'), url, init);
  const writer = openSync(button, 'w');
  t.teardown(() => closeSync(writer));
  const json = { 'content-type': 'application/json' };

  const setUp = async () => {
    await waitUntil('first boot', 15_000, async () => ((await (await fetch(`${base}/setup`)).json()) as { needed: boolean }).needed);
    t.ok((await fetch(`${base}/setup`, { method: 'POST', headers: json, body: JSON.stringify({ password: ADMIN }) })).ok, 'admin password set');
    const login = await fetch(`${base}/login`, { method: 'POST', headers: json, body: JSON.stringify({ password: ADMIN }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    return { ...json, cookie, 'x-csrf-token': csrfToken };
  };
  let headers = await setUp();

  const status = (await (await fetch(`${base}/status`, { headers })).json()) as { board?: { name: string; title: string; watchdogArmed: boolean }; network?: { wan: { interface: string; source: string } } };
  t.match(status.board, { name: 'test-board', title: 'Test board (fake sysfs)', watchdogArmed: true }, 'the API shows the board');
  t.match(status.network?.wan, { interface: 'lo', source: 'config' }, 'the first configuration took the board\'s WAN port (not eth0)');
  const brightness = (name: string) => readFileSync(join(leds, 'sys/class/leds', name, 'brightness'), 'utf8');
  await waitUntil('power LED on', 5000, () => brightness('power') === '1');
  t.equal(brightness('tunnels'), '0', 'no tunnel, tunnels LED off');
  await waitUntil('the watchdog is fed', 10_000, () => readFileSync(watchdog, 'utf8').length >= 1);
  t.match(readFileSync(watchdog, 'utf8'), /^k+$/, 'keepalives only, no magic close while running');
  t.ok(existsSync(join(state, 'pki')), 'first boot made the PKI');

  // The API refuses without the typed words or with a wrong password; nothing is wiped.
  const reset = (body: unknown) => fetch(`${base}/system/factory-reset`, { method: 'POST', headers, body: JSON.stringify(body) });
  t.equal((await reset({ password: ADMIN, confirm: 'yes' })).status, 400, 'the confirmation must be typed');
  t.equal((await reset({ password: 'not-the-password', confirm: FACTORY_RESET_CONFIRM })).status, 403, 'the admin password is asked again');
  t.equal(((await (await fetch(`${base}/setup`)).json()) as { needed: boolean }).needed, false, 'nothing reset yet');
  t.equal((await reset({ password: ADMIN, confirm: FACTORY_RESET_CONFIRM })).status, 202, 'accepted');
  await p.waitFor((r) => r['msg'] === 'factory reset: state wiped', 30_000);
  await waitUntil('first boot again', 15_000, async () => ((await (await fetch(`${base}/setup`).catch(() => undefined))?.json().catch(() => undefined)) as { needed?: boolean } | undefined)?.needed === true);
  t.pass(`after the API reset the web UI waits for a new admin password (${Date.now() - t0} ms)`);
  t.match(readFileSync(watchdog, 'utf8'), /^k+Vk*$/, 'the stop before the wipe disarmed the watchdog (magic close), the fresh start armed it again');

  // The reset button: pressed and released after 1 s does nothing; held 3 s (this board's hold) resets.
  headers = await setUp();
  writeSync(writer, keyEvent(1));
  await new Promise((r) => setTimeout(r, 1000));
  writeSync(writer, keyEvent(0));
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(((await (await fetch(`${base}/setup`)).json()) as { needed: boolean }).needed, false, 'a short press does not reset');
  const pressed = Date.now();
  writeSync(writer, keyEvent(1));
  await p.waitFor((r) => r['msg'] === 'reset button held: factory reset', 8000);
  const held = Date.now() - pressed;
  t.ok(held >= 2900 && held < 6000, `reset after the hold time (${held} ms)`);
  writeSync(writer, keyEvent(0));
  await waitUntil('first boot after the button', 15_000, async () => ((await (await fetch(`${base}/setup`).catch(() => undefined))?.json().catch(() => undefined)) as { needed?: boolean } | undefined)?.needed === true);
  t.pass(`after the button reset the web UI waits for a new admin password (${Date.now() - t0} ms)`);

  p.child.kill('SIGTERM');
  await p.exited;
  t.match(readFileSync(watchdog, 'utf8'), /V$/, 'a clean stop ends with the magic close');
  t.equal(brightness('power'), '0', 'power LED off after a clean stop');
});
