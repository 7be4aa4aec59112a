// The web UI in a real browser (Debian's Chromium, headless), against `postern run` on loopback:
// first boot, login, add a user (with a refused weak password first), issue a certificate, download
// a profile, a phone-sized screen. Screenshots are kept in test/artifacts/screenshots/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createCa } from '../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../firmware/pki/issue.ts';
import { exportPkcs12 } from '../../firmware/pki/pkcs12.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

t.test('first boot, login, a user, a certificate and a profile, from the browser', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui-'));
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
  await page.getByRole('form', { name: 'first-boot setup' }).waitFor();
  await screenshot(page, '01-first-boot');
  await page.fill('input[name=password]', 'short');
  await page.fill('input[name=again]', 'short');
  await page.click('button[type=submit]');
  await t.resolves(page.locator('.error', { hasText: 'at least 12 characters' }).waitFor({ timeout: 5000 }), 'a weak admin password is refused with the rule');
  await page.fill('input[name=password]', ADMIN);
  await page.fill('input[name=again]', ADMIN);
  await page.click('button[type=submit]');

  await page.getByRole('form', { name: 'login' }).waitFor();
  await page.fill('input[name=password]', 'wrong-password-1');
  await page.click('button[type=submit]');
  await t.resolves(page.getByRole('alert').filter({ hasText: 'wrong password' }).waitFor({ timeout: 5000 }), 'a wrong login says so');
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor();
  t.match(await page.getByTestId('session-count').innerText(), /^0/, 'the dashboard shows no sessions');
  await screenshot(page, '02-dashboard');

  await page.click('nav >> text=Users');
  const form = page.getByRole('form', { name: 'add a user' });
  await form.locator('input[name=name]').fill('alice');
  await form.locator('input[name=password]').fill('alice');
  await form.locator('button[type=submit]').click();
  await t.resolves(form.locator('.error').waitFor({ timeout: 5000 }), 'the weak user password is shown on its field');
  await form.locator('input[name=password]').fill('Correct-Horse-Battery-7');
  await form.locator('button[type=submit]').click();
  await page.locator('tr[data-user=alice]').waitFor();
  t.pass('the user is listed');
  const [profile] = await Promise.all([page.waitForEvent('download'), page.locator('tr[data-user=alice] button[data-profile=windows]').click()]);
  t.match(profile.suggestedFilename(), /alice\.ps1$/);
  t.match(readFileSync(await profile.path(), 'utf8'), /Add-VpnConnection/, 'the Windows profile downloads');
  await screenshot(page, '03-users');

  await page.click('nav >> text=Certificates');
  const issue = page.getByRole('form', { name: 'issue a client certificate' });
  await issue.locator('input[name=cert-name]').fill('alice-laptop');
  await issue.locator('input[name=cert-password]').fill('Bundle-Pass-1234');
  const [p12] = await Promise.all([page.waitForEvent('download'), issue.locator('button[type=submit]').click()]);
  t.equal(p12.suggestedFilename(), 'alice-laptop.p12', 'the PKCS#12 bundle downloads');
  await page.getByText('alice-laptop', { exact: true }).waitFor();
  await screenshot(page, '04-certificates');
  // Revoking asks in the page's own dialog: Escape is a no (nothing revoked), its named button goes ahead.
  const revokedAt = async () => ((await page.evaluate(() => fetch('/api/v1/certificates').then((r) => r.json()))) as { clients: Array<{ name: string; revokedAt?: string }> }).clients.find((c) => c.name === 'alice-laptop')?.revokedAt;
  const certRow = page.locator('tr', { has: page.getByText('alice-laptop', { exact: true }) });
  const revokeDialog = page.getByRole('dialog', { name: 'Revoke alice-laptop?' });
  await certRow.getByRole('button', { name: 'Revoke' }).click();
  await revokeDialog.waitFor({ timeout: 5000 });
  await page.keyboard.press('Escape');
  await revokeDialog.waitFor({ state: 'detached', timeout: 5000 });
  t.equal(await revokedAt(), undefined, 'Escape in the revoke dialog: the certificate is not revoked');
  await certRow.getByRole('button', { name: 'Revoke' }).click();
  await revokeDialog.getByRole('button', { name: 'Revoke alice-laptop' }).click();
  await certRow.filter({ hasText: 'revoked' }).waitFor({ timeout: 5000 });
  t.ok(await revokedAt(), 'the dialog\'s Revoke button revokes it (the API says so)');

  // Issue 17: the CA certificate for the clients, downloaded; a public CA's gateway certificate imported.
  const [ca] = await Promise.all([page.waitForEvent('download'), page.locator('button[name=ca-download]').click()]);
  t.equal(readFileSync(await ca.path(), 'utf8'), readFileSync(join(state, 'pki', 'ca.pem'), 'utf8'), `the CA certificate downloads (${ca.suggestedFilename()})`);
  const now = new Date();
  const outside = createCa({ commonName: 'Outside Public CA', validityDays: 30, keyType: 'ecdsa-p256', now });
  const leaf = issueServerCertificate(outside, { commonName: 'vpn.example.org', sans: ['vpn.example.org'], validityDays: 30, now });
  const other = issueServerCertificate(outside, { commonName: 'other.example.org', sans: ['other.example.org'], validityDays: 30, now });
  const bundle = exportPkcs12({ certificatePem: leaf.certificatePem, keyPem: leaf.keyPem, caPem: outside.certificatePem, password: new Secret('Import-Pass-123'), friendlyName: 'vpn' });
  const importer = page.getByRole('form', { name: 'import a certificate' });
  const importField = (input: string) => importer.locator('.field', { has: page.locator(input) }).locator('.error');
  const confirmImport = async () => page.getByRole('dialog', { name: 'Replace the gateway certificate?' }).getByRole('button', { name: 'Import and use it' }).click();
  await importer.locator('textarea[name=import-certificate]').fill(leaf.certificatePem);
  await importer.locator('textarea[name=import-key]').fill(other.keyPem.reveal());
  await importer.locator('button[type=submit]').click();
  await confirmImport();
  await t.resolves(importField('textarea[name=import-key]').filter({ hasText: 'the key does not belong to the certificate' }).waitFor({ timeout: 5000 }), 'another certificate\'s key: refused at the key field');
  await importer.locator('input[name=import-pkcs12]').setInputFiles({ name: 'vpn.p12', mimeType: 'application/x-pkcs12', buffer: bundle });
  await importer.locator('input[name=import-password]').fill('not-the-password');
  await importer.locator('button[type=submit]').click();
  await confirmImport();
  await t.resolves(importField('input[name=import-pkcs12]').filter({ hasText: 'could not read the certificate' }).waitFor({ timeout: 5000 }), 'a wrong bundle password: refused at the bundle');
  await importer.locator('input[name=import-password]').fill('Import-Pass-123');
  await importer.locator('button[type=submit]').click();
  await page.getByRole('dialog', { name: 'Replace the gateway certificate?' }).getByRole('button', { name: 'Cancel' }).click();
  t.notMatch(readFileSync(join(state, 'pki', 'server.pem'), 'utf8'), leaf.certificatePem.trim(), 'Cancel: nothing imported');
  await importer.locator('button[type=submit]').click();
  await confirmImport();
  await importer.getByRole('status').filter({ hasText: 'Imported' }).waitFor({ timeout: 5000 });
  await page.locator('dd', { hasText: /vpn\.example\.org.*\(imported\)/ }).waitFor({ timeout: 5000 });
  t.pass('the bundle imported: the page shows the gateway certificate from it, marked imported');
  t.match(readFileSync(join(state, 'pki', 'server.pem'), 'utf8'), leaf.certificatePem.trim(), 'and the gateway keeps it');
  await screenshot(page, '04b-certificate-imported');

  await page.click('nav >> text=Sites');
  const site = page.getByRole('form', { name: 'add a site' });
  await site.locator('input[name=site-name]').fill('branch-1');
  await site.locator('input[name=site-remote]').fill('198.51.100.20');
  await site.locator('input[name=site-local]').fill('192.168.1.0/24');
  await site.locator('input[name=site-remote-nets]').fill('not-a-network');
  await site.locator('input[name=site-psk]').fill('a-long-site-psk-0123456789');
  await site.locator('select[name=site-pfs]').selectOption('on');
  await site.locator('button[type=submit]').click();
  await t.resolves(site.locator('.field.invalid .error').first().waitFor({ timeout: 5000 }), 'a schema error is shown on its field');
  await site.locator('input[name=site-remote-nets]').fill('10.20.0.0/16');
  await site.locator('button[type=submit]').click();
  await page.locator('tr[data-site=branch-1]', { hasText: 'down' }).waitFor();
  t.pass('the site is listed with its live state');
  const stored = (await page.evaluate(() => fetch('/api/v1/sites').then((r) => r.json()))) as { sites: Array<{ name: string; pfs?: string }> };
  t.equal(stored.sites.find((x) => x.name === 'branch-1')?.pfs, 'on', 'the PFS choice reached the configuration');
  await site.locator('select[name=site-protocol]').selectOption('sstp');
  t.equal(await site.locator('input[name=site-psk]').count(), 0, 'an SSTP site asks for no pre-shared key');
  await site.locator('input[name=site-name]').fill('branch-2');
  await site.locator('input[name=site-remote]').fill('198.51.100.21');
  await site.locator('input[name=site-local]').fill('192.168.1.0/24');
  await site.locator('input[name=site-remote-nets]').fill('10.30.0.0/16');
  await site.locator('input[name=site-username]').fill('branch-2');
  await site.locator('input[name=site-password]').fill('Site-Pass-2468');
  await site.locator('input[name=site-fingerprint]').fill('AB:CD');
  await site.locator('button[type=submit]').click();
  await t.resolves(site.locator('.field.invalid .error').first().waitFor({ timeout: 5000 }), 'a malformed fingerprint is shown on its field');
  await site.locator('input[name=site-fingerprint]').fill('');
  await site.locator('button[type=submit]').click();
  await page.locator('tr[data-site=branch-2]', { hasText: 'sstp' }).waitFor();
  t.pass('the SSTP site is listed with its protocol');
  // An IKEv1 site (issue 19): offered in the protocol select, listed with the IKE version it speaks.
  await site.locator('select[name=site-protocol]').selectOption('ikev1');
  await site.locator('input[name=site-name]').fill('legacy-1');
  await site.locator('input[name=site-remote]').fill('198.51.100.22');
  await site.locator('input[name=site-local]').fill('192.168.1.0/24');
  await site.locator('input[name=site-remote-nets]').fill('10.40.0.0/16');
  await site.locator('input[name=site-psk]').fill('a-long-legacy-psk-0123456789');
  await site.locator('input[name=site-aggressive]').check();
  await site.locator('button[type=submit]').click();
  await page.locator('tr[data-site=legacy-1] small[data-protocol=ikev1]', { hasText: 'IKEv1' }).waitFor();
  const legacy = (await page.evaluate(() => fetch('/api/v1/sites').then((r) => r.json()))) as { sites: Array<{ name: string; protocol: string; aggressive?: boolean }> };
  t.equal(legacy.sites.find((x) => x.name === 'legacy-1')?.protocol, 'ikev1', 'the IKEv1 site reached the configuration, shown as IKEv1');
  t.equal(legacy.sites.find((x) => x.name === 'legacy-1')?.aggressive, true, 'the Aggressive Mode box reached the configuration');
  t.equal(await site.locator('input[name=site-aggressive]').count(), 0, 'Aggressive Mode is offered for IKEv1 sites only (the emptied form is IKEv2)');
  await screenshot(page, '05-sites');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('nav >> text=Sessions');
  await page.getByRole('region', { name: 'sessions' }).waitFor();
  // Runs in the page, where `document` exists (this file is typechecked without the DOM library).
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number;
  t.ok(overflow <= 1, `usable on a phone screen: no sideways scrolling (${overflow}px)`);
  await screenshot(page, '07-phone-sessions');
  t.same(errors, [], 'no script errors in the page');
});
