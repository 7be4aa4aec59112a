// Issue 18 in Chromium against `postern run --board FILE`: the dashboard names the board, and the
// Maintenance page's factory reset (admin password and the typed words) brings the gateway back in
// its first-boot state, the page asking for a new admin password.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { browserMissing, firstBootAndLogIn, launchBrowser, screenshot } from '../helpers/browser.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';

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
  };
  writeFileSync(join(dir, 'ui-board.json'), JSON.stringify(board));
  const p = startPostern(t, ['--import', 'tsx', resolve('firmware/main.ts')], ['run', '--state', join(dir, 'state'), '--management', '127.0.0.1:0', '--only', 'web', '--board', join(dir, 'ui-board.json')]);
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
