// Issue 17 in a real browser (Debian's Chromium, headless) against `postern run` on loopback: a
// user's profiles with how to install each shown beside its download, and Windows' all-users option
// reaching the downloaded script.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Copper-Wire-Falcon-55';
const WAIT = { timeout: 15_000 };

t.test('the profiles panel: each download with its install text; the all-users checkbox reaches the Windows script', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui-profiles-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${String(listening['port'])}`);
  const setup = page.getByRole('form', { name: 'first-boot setup' });
  await setup.waitFor(WAIT);
  await setup.locator('input[name=password]').fill(ADMIN);
  await setup.locator('input[name=again]').fill(ADMIN);
  await setup.locator('input[name=publicName]').fill('vpn.branch1.example.com');
  await setup.locator('button[type=submit]').click();
  await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor(WAIT);
  await page.click('nav >> text=Users');
  const form = page.getByRole('form', { name: 'add a user' });
  await form.locator('input[name=name]').fill('alice');
  await form.locator('input[name=password]').fill('Correct-Horse-Battery-7');
  await form.locator('button[type=submit]').click();
  await page.locator('tr[data-user=alice] button[data-profile-help=alice]').click();
  const panel = page.locator('[data-profiles-for=alice]');
  await panel.waitFor(WAIT);
  for (const [kind, text] of [['windows', /powershell -ExecutionPolicy Bypass -File \.\\postern-vpn-branch1-example-com-alice\.ps1/], ['apple', /VPN & Device Management/], ['android', /strongSwan VPN Client/], ['linux', /nmcli connection up id 'Postern vpn\.branch1\.example\.com'/]] as const) {
    const install = panel.locator(`[data-install=${kind}]`);
    t.ok(await install.locator(`button[data-download=${kind}]`).isVisible(), `${kind}: the download`);
    t.match(await install.locator('pre.install').innerText(), text, `${kind}: how to install it, beside it`);
  }
  await screenshot(page, '17-profiles-install');
  await panel.locator('input[name=all-users]').check();
  const [file] = await Promise.all([page.waitForEvent('download'), panel.locator('button[data-download=windows]').click()]);
  const script = readFileSync(await file.path(), 'utf8');
  t.match(script, /Add-VpnConnection [^\r]*-AllUserConnection/, 'the all-users option reached the script');
  t.same(errors, [], 'no script errors on the page');
});
