// Issue 18 in Chromium against `postern run --board FILE`: the dashboard names the board, and the
// Maintenance page's factory reset (admin password and the typed words) brings the gateway back in
// its first-boot state, the page asking for a new admin password.
// Issue 26 on the same boot: the board enrolls the box in a fleet (a factory certificate), and the
// state directory holds what the fleet applied (its ledger, as if revision 1 came from the console,
// and variables): the Fleet page shows the enrollment, a technician's change as drift, and the box's
// choice "desired state wins" made there undoes it.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { browserMissing, firstBootAndLogIn, launchBrowser, screenshot } from '../helpers/browser.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { rawPublicKey } from '../../firmware/fleet/envelope.ts';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueClientCertificateForKey } from '../../firmware/pki/issue.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

t.test('the board on the dashboard; factory reset from the Maintenance page ends at first boot', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // No LEDs, no watchdog, no button: only the name and the ports matter here.
  const board = {
    name: 'ui-board', title: 'UI test board', architecture: 'x64',
    interfaces: [{ name: 'lo', role: 'wan', label: 'WAN' }, { name: 'lan0', role: 'lan', label: 'LAN' }],
    leds: [], watchdog: null,
    storage: { stateDir: join(dir, 'state'), layout: 'image-path', imagePath: '/usr/local/bin/postern' },
    kernel: { xfrmEsp: false, multiqueueTun: true, udpSegmentationOffload: false },
    // Only the web subsystem runs: the broker (nothing listens on port 1) is never dialed.
    fleet: { broker: 'mqtts://127.0.0.1:1', operatorKeys: [rawPublicKey(generateKeyPairSync('ed25519').publicKey).toString('base64')], serialFile: join(dir, 'serial'), certificate: join(dir, 'device.pem'), key: join(dir, 'device.key') },
  };
  writeFileSync(join(dir, 'ui-board.json'), JSON.stringify(board));
  writeFileSync(join(dir, 'serial'), 'shop-17\0');
  const ca = createCa({ commonName: 'Fleet CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date() });
  const deviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const device = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 90, now: new Date(), publicKey: deviceKey.publicKey });
  writeFileSync(join(dir, 'device.pem'), device.certificatePem);
  writeFileSync(join(dir, 'device.key'), deviceKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  // The fleet's ledger and variables, as a console would have left them: revision 1 (the first configuration) applied as r1.
  mkdirSync(join(dir, 'state', 'fleet'), { recursive: true, mode: 0o700 });
  const at = new Date().toISOString();
  const sha = 'ab'.repeat(32);
  writeFileSync(join(dir, 'state', 'fleet', 'desired.json'), JSON.stringify({ sequence: 5, payloadSha256: sha, recent: [sha], revision: 'r1', appliedRevision: 'r1', acceptedAt: Date.now(), applied: { revision: 'r1', sequence: 5, payloadSha256: sha, configRevision: 1, confirmed: true, at } }), { mode: 0o600 });
  writeFileSync(join(dir, 'state', 'fleet', 'variables.json'), JSON.stringify({ sequence: 3, payloadSha256: sha, recent: [sha], acceptedAt: Date.now(), variables: { shopName: 'shop17' } }), { mode: 0o600 });
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', join(dir, 'state'), '--management', '127.0.0.1:0', '--only', 'web', '--board', join(dir, 'ui-board.json')]);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  // A fresh box serves HTTPS with its own CA's certificate; http:// is redirected there (issue 17).
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await firstBootAndLogIn(page, base, ADMIN);
  const tile = page.getByTestId('board');
  await tile.getByText('ui-board').waitFor();
  t.match(await tile.textContent(), /ui-board.*UI test board/, 'the dashboard names the board');

  await page.click('nav >> text=Fleet');
  const enrollment = page.getByTestId('fleet-enrollment');
  await enrollment.getByText('Enrolled').waitFor();
  t.equal(await page.getByTestId('fleet-serial').textContent(), 'shop-17', 'enrolled under the serial from the board\'s serial file');
  t.match(await page.getByTestId('fleet-certificate').textContent(), /CN=shop-17, expires \d{4}-\d\d-\d\d \((89|90) days\)/, 'with the factory certificate\'s expiry');
  t.match(await enrollment.textContent(), /mqtts:\/\/127\.0\.0\.1:1/, 'and its broker');
  await page.getByTestId('fleet-no-drift').waitFor();
  t.match(await page.getByTestId('fleet-desired').textContent(), /Applied revision r1 \(sequence 5\)/, 'the desired revision applied');
  t.match(await page.getByTestId('fleet-variables').textContent(), /shopName\s*hidden/, 'variables no document uses: by name only');

  // A technician's change (the telemetry's interval on the Settings page) is drift from the desired configuration.
  await page.click('nav >> text=Settings');
  const telemetry = page.getByRole('form', { name: 'telemetry' });
  await telemetry.locator('input[type=number]').fill('90');
  await telemetry.locator('button[type=submit]').click();
  await telemetry.getByText('Telemetry saved').waitFor();
  await page.click('nav >> text=Fleet');
  const drift = page.getByTestId('fleet-drift');
  await drift.waitFor({ timeout: 15_000 });
  t.match(await drift.textContent(), /Local changes since the desired configuration was applied: telemetry .*by admin/, 'the local change shows as drift');
  const health = (await (await page.request.get(`${base}/healthz`)).json()) as { fleet: Record<string, unknown> };
  t.match(health.fleet, { enrollment: { state: 'enrolled', serial: 'shop-17' }, applied: { revision: 'r1' }, drift: { sections: ['telemetry'] }, variables: { sequence: Number }, onLocalChange: { value: 'keep', source: 'default' } }, '/healthz shows the same');

  // The box's own choice, made on the page: desired state wins, and the local change is undone at once.
  const choice = page.getByRole('form', { name: 'on a local change' });
  await choice.locator('input[value=desired-wins]').check();
  await choice.locator('button[type=submit]').click();
  await choice.getByText('Saved: local changes will be undone').waitFor();
  await page.getByTestId('fleet-reapplied').waitFor({ timeout: 15_000 });
  await page.getByTestId('fleet-no-drift').waitFor({ timeout: 15_000 });
  t.match(await page.getByTestId('fleet-reapplied').textContent(), /local change by admin to telemetry was undone/, 'undone, and said so');
  const after = (await (await page.request.get(`${base}/healthz`)).json()) as { fleet: Record<string, unknown> };
  t.match(after.fleet, { onLocalChange: { value: 'desired-wins', source: 'local' }, counters: { reapplied: 1 } }, 'the box\'s own choice, in force');
  t.notOk('drift' in after.fleet, 'no drift left');
  await screenshot(page, 'fleet');

  await page.click('nav >> text=Maintenance');
  const card = page.getByRole('form', { name: 'factory reset' });
  await card.waitFor();
  const button = card.locator('button[name=factory-reset]');
  await card.locator('input[name=reset-password]').fill(ADMIN);
  t.equal(await button.isDisabled(), true, 'not without the typed words');
  await card.locator('input[name=reset-confirm]').fill('erase everything');
  await screenshot(page, 'factory-reset');
  await button.click();
  await p.waitFor((r) => r['msg'] === 'factory reset: state wiped', 30_000);
  await page.getByRole('form', { name: 'first-boot setup' }).waitFor({ timeout: 30_000 });
  t.pass('the page came back asking for a new admin password (first boot)');
  t.same(errors, [], 'no script errors');
});
