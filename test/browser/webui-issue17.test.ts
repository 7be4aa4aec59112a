// Issue 17 in a real browser (Debian's Chromium, headless) against `postern run` on loopback: the
// first-boot wizard with a public name reaching the downloaded profile, and each mistake refused at
// its field on a real page (warnings in the banner). Screenshots in test/artifacts/screenshots/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Copper-Wire-Falcon-55';
const WAIT = { timeout: 15_000 };

/** A running gateway (web only) and a page on it; `setup` done through the wizard when given. */
async function gateway(t: { teardown(fn: () => void): void }) {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui17-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  return { page, errors };
}

/** The error shown in the form field that holds `input`. */
const fieldError = (form: Locator, input: string): Locator => form.locator('.field', { has: form.page().locator(input) }).locator('.error');
const fieldWarning = (form: Locator, input: string): Locator => form.locator('.field', { has: form.page().locator(input) }).locator('.warning');

async function login(page: Page): Promise<void> {
  await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor(WAIT);
}

async function download(page: Page, user: string, kind: string): Promise<{ name: string; body: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.locator(`tr[data-user=${user}] button[data-profile=${kind}]`).click()]);
  return { name: file.suggestedFilename(), body: readFileSync(await file.path(), 'utf8') };
}

t.test('issue 17: the first-boot wizard takes a public name, and the downloaded profiles dial it', { skip }, async (t) => {
  const { page, errors } = await gateway(t);
  const setup = page.getByRole('form', { name: 'first-boot setup' });
  await setup.waitFor(WAIT);
  await setup.locator('input[name=password]').fill('password1234');
  await setup.locator('input[name=again]').fill('password1234');
  await setup.locator('input[name=publicName]').fill('vpn.branch1.example.com');
  await setup.locator('button[type=submit]').click();
  await t.resolves(fieldError(setup, 'input[name=password]').filter({ hasText: 'too easy to guess' }).waitFor(WAIT), 'password1234 is refused for the admin, at the password field');
  await setup.locator('input[name=password]').fill(ADMIN);
  await setup.locator('input[name=again]').fill(ADMIN);
  await setup.locator('input[name=publicName]').fill('300.1.1.1');
  await setup.locator('input[name=publicAddress]').fill('');
  await setup.locator('button[type=submit]').click();
  await t.resolves(fieldError(setup, 'input[name=publicName]').filter({ hasText: 'not a valid IPv4 address' }).waitFor(WAIT), 'a mistyped address as the public name is refused at its field');
  t.equal(await setup.locator('.elsewhere').count(), 0, 'and nowhere else');
  await screenshot(page, '17-01-wizard-refused');
  await setup.locator('input[name=publicName]').fill('vpn.branch1.example.com');
  await setup.locator('button[type=submit]').click();
  await login(page);

  await page.click('nav >> text=Users');
  const form = page.getByRole('form', { name: 'add a user' });
  await form.locator('input[name=name]').fill('alice');
  await form.locator('input[name=password]').fill('Correct-Horse-Battery-7');
  await form.locator('button[type=submit]').click();
  await page.locator('tr[data-user=alice]').waitFor(WAIT);
  const android = await download(page, 'alice', 'android');
  const json = JSON.parse(android.body) as { name: string; remote: { addr: string; id: string }; 'split-tunneling': Record<string, unknown> };
  t.same([json.remote.addr, json.remote.id], ['vpn.branch1.example.com', 'vpn.branch1.example.com'], 'the Android profile dials the public name');
  t.match(json.name, /vpn\.branch1\.example\.com/, 'and is named after the gateway');
  t.same(Object.keys(json['split-tunneling']).sort(), ['block-ipv4', 'block-ipv6']);
  const windows = await download(page, 'alice', 'windows');
  t.match(windows.body, /-ServerAddress 'vpn\.branch1\.example\.com' -TunnelType Ikev2/, 'so does the Windows profile');
  t.match(windows.name, /vpn-branch1-example-com/, 'whose file is named after the gateway');
  t.notMatch(windows.body, /postern\.local/);

  await page.click('nav >> text=Settings');
  const identity = page.getByRole('form', { name: 'public identity' });
  await identity.waitFor(WAIT);
  t.equal(await identity.getByTestId('dialled').innerText(), 'vpn.branch1.example.com', 'settings show what profiles dial');
  await identity.locator('input[name=publicName]').fill('vpn.branch2.example.com');
  await identity.locator('button[type=submit]').click();
  await identity.getByTestId('dialled').filter({ hasText: 'vpn.branch2.example.com' }).waitFor(WAIT);
  t.match(await identity.innerText(), /certificate names: vpn\.branch2\.example\.com/, 'the gateway certificate was issued again with the new name');
  await screenshot(page, '17-02-identity');
  await page.click('nav >> text=Users');
  const apple = await download(page, 'alice', 'apple');
  t.match(apple.body, /<key>RemoteAddress<\/key>\s*<string>vpn\.branch2\.example\.com<\/string>/, 'the next profile dials the new name');
  t.same(errors, [], 'no script errors in the page');
});

t.test('issue 17: each routing mistake is refused at its field, warnings in the banner', { skip }, async (t) => {
  const { page, errors } = await gateway(t);
  const setup = page.getByRole('form', { name: 'first-boot setup' });
  await setup.waitFor(WAIT);
  await setup.locator('input[name=password]').fill(ADMIN);
  await setup.locator('input[name=again]').fill(ADMIN);
  await setup.locator('input[name=publicAddress]').fill('203.0.113.5');
  await setup.locator('button[type=submit]').click();
  await login(page);

  await page.click('nav >> text=Sites');
  const site = page.getByRole('form', { name: 'add a site' });
  const fill = async (name: string, remote: string, remoteNets: string, local = '10.9.0.0/24') => {
    await site.locator('input[name=site-name]').fill(name);
    await site.locator('input[name=site-remote]').fill(remote);
    await site.locator('input[name=site-local]').fill(local);
    await site.locator('input[name=site-remote-nets]').fill(remoteNets);
    await site.locator('input[name=site-psk]').fill('a-long-site-psk-0123456789');
    await site.locator('button[type=submit]').click();
  };
  await fill('branch-1', '300.1.1.1', '10.20.0.0/16');
  await t.resolves(fieldError(site, 'input[name=site-remote]').filter({ hasText: 'four numbers from 0 to 255' }).waitFor(WAIT), 'peer address 300.1.1.1: refused at the peer address');
  await fill('branch-1', '198.51.100.7', '192.168.1.0/25');
  await t.resolves(fieldError(site, 'input[name=site-remote-nets]').filter({ hasText: 'inside the LAN' }).waitFor(WAIT), 'a remote network inside the LAN: refused at the remote networks');
  t.equal(await fieldError(site, 'input[name=site-remote]').count(), 0, 'and the peer address is no longer flagged');
  await fill('branch-1', '198.51.100.7', '10.10.0.0/24');
  await t.resolves(fieldError(site, 'input[name=site-remote-nets]').filter({ hasText: "client pool 'clients'" }).waitFor(WAIT), 'a remote network equal to the client pool: refused at the remote networks');
  await fill('branch-1', '198.51.100.7', '10.20.0.0/16', '10.20.0.0/16');
  await t.resolves(fieldError(site, 'input[name=site-remote-nets]').filter({ hasText: 'local network' }).waitFor(WAIT), 'a remote network equal to the local one: refused at the remote networks');
  await fill('branch-1', '198.51.100.7', '10.20.0.0/16');
  await page.locator('tr[data-site=branch-1]').waitFor(WAIT);
  await t.resolves(page.getByRole('status', { name: 'warnings' }).filter({ hasText: 'modp1024' }).waitFor(WAIT), 'the API\'s warnings (modp1024) reach the page as a banner');
  await fill('branch-2', '198.51.100.8', '10.20.0.0/16');
  await t.resolves(fieldError(site, 'input[name=site-remote-nets]').filter({ hasText: "site 'branch-1'" }).waitFor(WAIT), 'two sites with the same remote network: refused at the second one\'s field, naming the first');
  await screenshot(page, '17-03-sites-refused');
  // Removing a site asks in the page's own dialog, answered from the keyboard: Escape is no, the named button yes.
  const first = page.locator('tr[data-site=branch-1]');
  await first.getByRole('button', { name: 'Remove' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove the site branch-1?' });
  await dialog.waitFor(WAIT);
  t.match(await dialog.innerText(), /tunnel to 198\.51\.100\.7 goes down/, 'the dialog, named by its title, says what goes');
  t.equal(await page.evaluate('document.activeElement && document.activeElement.textContent'), 'Cancel', 'Cancel has the focus: Enter alone removes nothing');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', ...WAIT });
  t.equal(await first.count(), 1, 'Escape: the site stays');
  await first.getByRole('button', { name: 'Remove' }).click();
  await dialog.waitFor(WAIT);
  await page.keyboard.press('Tab');
  t.equal(await page.evaluate('document.activeElement && document.activeElement.textContent'), 'Remove branch-1', 'Tab reaches the named action');
  await page.keyboard.press('Enter');
  await t.resolves(first.waitFor({ state: 'detached', ...WAIT }), 'Enter on it: the site is removed');

  await page.click('nav >> text=Users');
  const user = page.getByRole('form', { name: 'add a user' });
  await user.locator('input[name=name]').fill('bob');
  await user.locator('input[name=password]').fill('password1234');
  await user.locator('button[type=submit]').click();
  await t.resolves(fieldError(user, 'input[name=password]').filter({ hasText: 'too easy to guess' }).waitFor(WAIT), 'password1234 for a VPN user: refused at the password field');
  await user.locator('input[name=name]').fill('bad name!');
  await user.locator('input[name=password]').fill('Correct-Horse-Battery-7');
  await user.locator('button[type=submit]').click();
  await t.resolves(fieldError(user, 'input[name=name]').waitFor(WAIT), 'a schema error at users[n].name shows at the name field');

  await page.click('nav >> text=Settings');
  const ports = page.getByRole('form', { name: 'interfaces' });
  await ports.waitFor(WAIT);
  await ports.locator('input[name=wan-interface]').fill('eth9');
  await ports.locator('button[type=submit]').click();
  await t.resolves(fieldWarning(ports, 'input[name=wan-interface]').filter({ hasText: "no interface 'eth9'" }).waitFor(WAIT), 'a WAN interface the box lacks: a warning at its field');
  await t.resolves(ports.getByRole('status', { name: 'warnings' }).filter({ hasText: 'system.wan.interface' }).waitFor(WAIT), 'and in the banner');
  await ports.locator('input[name=lan-address]').fill('10.10.0.1/24');
  await ports.locator('button[type=submit]').click();
  await t.resolves(ports.locator('.elsewhere li[data-path="pools[0].ipv4"]').filter({ hasText: 'same network as the LAN' }).waitFor(WAIT), 'a LAN on the client pool: refused, naming the pool\'s field');
  await ports.locator('input[name=lan-address]').fill('192.168.1.1/33');
  await ports.locator('button[type=submit]').click();
  await t.resolves(fieldError(ports, 'input[name=lan-address]').filter({ hasText: 'prefix length' }).waitFor(WAIT), 'a prefix longer than 32: refused at the LAN address');
  await screenshot(page, '17-04-interfaces');
  const pool = page.locator('form[data-pool=clients]');
  await pool.locator('input[name=pool-ipv4]').fill('192.168.1.0/24');
  await pool.locator('button[type=submit]').click();
  await t.resolves(fieldError(pool, 'input[name=pool-ipv4]').filter({ hasText: 'same network as the LAN' }).waitFor(WAIT), 'a pool equal to the LAN: refused at the pool\'s range');
  await pool.locator('input[name=pool-ipv4]').fill('10.10.0.0/33');
  await pool.locator('button[type=submit]').click();
  await t.resolves(fieldError(pool, 'input[name=pool-ipv4]').filter({ hasText: 'prefix length' }).waitFor(WAIT), 'an invalid prefix: refused at the pool\'s range');
  await page.setViewportSize({ width: 390, height: 844 });
  // Evaluated in the page, where `document` exists (this file is typechecked without the DOM library).
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number;
  t.ok(overflow <= 1, `Settings with its errors and warnings fits a phone screen (${overflow}px sideways)`);
  await screenshot(page, '17-05-settings-phone');
  t.same(errors, [], 'no script errors in the page');
});
