// Issue 17, the rest of a router's settings in a real browser (Debian's Chromium) against `postern run`
// on loopback: each form saves and an invalid value is refused at its field (listeners and the ports to
// open, IKEv2 proposals and who checks passwords, DNS, time, clients' DNS, dynamic DNS, the fleet broker's discovery domain; a fresh box on HTTPS with HTTP redirected, then turned off), then Maintenance: ping and
// traceroute to loopback, export, import previewed, and reboot (a restart of the service here).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Copper-Wire-Falcon-55';
const WAIT = { timeout: 15_000 };

const field = (form: Locator, input: string): Locator => form.locator('.field', { has: form.page().locator(input) });
const fieldError = (form: Locator, input: string): Locator => field(form, input).locator('.error');

async function login(page: Page): Promise<void> {
  await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor(WAIT);
}

/** How far a phone-sized page scrolls sideways (evaluated in the page: this file has no DOM types). */
async function sideways(page: Page): Promise<number> {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = (await page.evaluate('Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth - 1)')) as number;
  if (size) await page.setViewportSize(size);
  return overflow;
}

/** A plain-HTTP GET's status and Location, Host as a browser would send it. */
const plainGet = (port: number, path: string) =>
  new Promise<{ status: number; location: string | undefined }>((done, fail) => {
    request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      res.resume();
      done({ status: res.statusCode ?? 0, location: res.headers.location });
    }).on('error', fail).end();
  });

/** The certificate the port serves, checked against the box's own CA (no name check: the test dials 127.0.0.1). */
const servedCertificate = (port: number, ca: string) =>
  new Promise<{ authorized: boolean; fingerprint: string }>((done, fail) => {
    const socket = connect({ host: '127.0.0.1', port, ca, checkServerIdentity: () => undefined }, () => {
      done({ authorized: socket.authorized, fingerprint: socket.getPeerCertificate().fingerprint256 });
      socket.end();
    }).on('error', fail);
  });

t.test('issue 17: router settings save and refuse at their fields; maintenance tools work', { skip }, async (t) => {
  const started = Date.now();
  const state = mkdtempSync(join(tmpdir(), 'postern-ui17s-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web,time']);
  const port = Number((await p.waitFor((r) => r['msg'] === 'web listening', 30_000))['port']);
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  // The gateway certificate comes from Postern's own CA, which this browser does not know.
  const context = await browser.newContext({ acceptDownloads: true, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A fresh box: http:// is redirected to https:// on the same Host and port, served with the gateway certificate.
  t.same(await plainGet(port, '/'), { status: 308, location: `https://127.0.0.1:${port}/` }, 'a fresh box redirects plain HTTP to HTTPS on the same port');
  const landed = await page.goto(`http://127.0.0.1:${port}/`);
  t.equal(page.url(), `https://127.0.0.1:${port}/`, 'the browser lands on https://');
  t.equal((await landed?.securityDetails())?.issuer, 'Postern CA', 'Chromium got a certificate from the box\'s CA');
  const served = await servedCertificate(port, readFileSync(join(state, 'pki', 'ca.pem'), 'utf8'));
  t.same(served, { authorized: true, fingerprint: new X509Certificate(readFileSync(join(state, 'pki', 'server.pem'), 'utf8')).fingerprint256 }, 'the gateway certificate, valid under the box\'s CA');
  const setup = page.getByRole('form', { name: 'first-boot setup' });
  await setup.waitFor(WAIT);
  await setup.locator('input[name=password]').fill(ADMIN);
  await setup.locator('input[name=again]').fill(ADMIN);
  await setup.locator('input[name=publicAddress]').fill('203.0.113.5');
  await setup.locator('button[type=submit]').click();
  await login(page);
  await page.click('nav >> text=Settings');

  // Listeners: the SSTP port, and the ports to open following what is enabled.
  const listeners = page.getByRole('form', { name: 'listeners' });
  const open = listeners.getByTestId('ports-to-open');
  await open.filter({ hasText: 'UDP 4500' }).waitFor(WAIT);
  t.match(await open.innerText(), /TCP 443 — SSTP clients/, 'SSTP on 443 is in the hint');
  await listeners.locator('input[name=sstp-port]').fill('70000');
  await listeners.locator('button[type=submit]').click();
  await t.resolves(fieldError(listeners, 'input[name=sstp-port]').waitFor(WAIT), 'port 70000: refused at the SSTP port');
  await listeners.locator('input[name=sstp-port]').fill('8443');
  await listeners.locator('button[type=submit]').click();
  await t.resolves(open.filter({ hasText: 'TCP 8443' }).waitFor(WAIT), 'port 8443 saved, and the hint follows');
  // The switch follows the saved state (it changes once the API has answered): clicked, not checked.
  await listeners.locator('input[name=listener-ikev2]').click();
  await t.resolves(open.filter({ hasNotText: 'UDP 500' }).waitFor(WAIT), 'IKEv2 off: UDP 500 and 4500 leave the hint');
  await listeners.locator('input[name=listener-ikev2]').click();
  await open.filter({ hasText: 'UDP 500' }).waitFor(WAIT);
  // L2TP without its key: refused, the key named (it is set in the L2TP/IPsec card: l2tp-forms.test.ts, issue 20).
  await listeners.locator('input[name=listener-l2tp]').click();
  await t.resolves(listeners.locator('.elsewhere').filter({ hasText: 'pre-shared key of at least 8 characters' }).waitFor(WAIT), 'L2TP without its key: refused, the key named');
  await open.filter({ hasNotText: 'L2TP/IPsec clients' }).waitFor(WAIT);

  // IKEv2 proposals: the weak default flagged on load, an unknown algorithm refused at the field.
  const ike = page.getByRole('form', { name: 'ikev2 settings' });
  await t.resolves(ike.locator('ul.weak').filter({ hasText: 'aes256-sha1-modp1024: DH group 2 (modp1024) is weak' }).waitFor(WAIT), 'the weak proposal is flagged as the page opens');
  const proposals = ike.locator('textarea[name=ike-proposals]');
  const kept = (await proposals.inputValue()).split('\n').filter((l) => !l.includes('modp1024'));
  await proposals.fill([...kept, 'aes256-blowfish-modp2048'].join('\n'));
  await ike.locator('button[type=submit]').click();
  await t.resolves(fieldError(ike, 'textarea[name=ike-proposals]').filter({ hasText: 'aes256-blowfish-modp2048: unknown algorithm: blowfish' }).waitFor(WAIT), 'an unknown algorithm: refused at the IKE proposals, naming the line');
  await proposals.fill(kept.join('\n'));
  await ike.locator('button[type=submit]').click();
  await ike.getByRole('status').filter({ hasText: 'IKEv2 settings saved' }).waitFor(WAIT);
  t.equal(await ike.locator('ul.weak').count(), 0, 'without modp1024 nothing is flagged');
  // Issue 21: who checks EAP-MSCHAPv2 passwords; RADIUS without a server is refused at that field.
  await ike.locator('select[name=ike-user-auth]').selectOption('radius');
  await ike.locator('button[type=submit]').click();
  await t.resolves(fieldError(ike, 'select[name=ike-user-auth]').filter({ hasText: 'needs at least one server under radius.servers' }).waitFor(WAIT), 'RADIUS without a server: refused at "Passwords checked by"');
  await ike.locator('select[name=ike-user-auth]').selectOption('local');
  await ike.locator('button[type=submit]').click();
  await ike.getByRole('status').filter({ hasText: 'IKEv2 settings saved' }).waitFor(WAIT);

  // DNS, time, clients' DNS.
  const dns = page.getByRole('form', { name: 'dns' });
  await dns.locator('input[name=dns-servers]').fill('9.9.9.9, 300.1.1.1');
  await dns.locator('button[type=submit]').click();
  await t.resolves(fieldError(dns, 'input[name=dns-servers]').filter({ hasText: '300.1.1.1: not a valid IPv4 address' }).waitFor(WAIT), 'DNS 300.1.1.1: refused at the field, naming the entry');
  await dns.locator('input[name=dns-servers]').fill('9.9.9.9, 149.112.112.112');
  await dns.locator('button[type=submit]').click();
  await dns.getByRole('status').filter({ hasText: 'DNS servers saved' }).waitFor(WAIT);
  const time = page.getByRole('form', { name: 'time' });
  await time.locator('input[name=timezone]').fill('Mars/Olympus_Mons');
  await time.locator('button[type=submit]').click();
  await t.resolves(fieldError(time, 'input[name=timezone]').filter({ hasText: 'time zone' }).waitFor(WAIT), 'an unknown time zone: refused at its field');
  await time.locator('input[name=timezone]').fill('Europe/Berlin');
  await time.locator('input[name=ntp-servers]').fill('pool.ntp.org, bad_name!');
  await time.locator('button[type=submit]').click();
  await t.resolves(fieldError(time, 'input[name=ntp-servers]').filter({ hasText: 'bad_name!:' }).waitFor(WAIT), 'a bad NTP server: refused at its field');
  await time.locator('input[name=ntp-servers]').fill('pool.ntp.org');
  await time.locator('button[type=submit]').click();
  await time.getByRole('status').filter({ hasText: 'Time settings saved' }).waitFor(WAIT);
  await t.resolves(time.getByTestId('time-applied').filter({ hasText: 'this process only (Postern does not own this system)' }).waitFor(WAIT), 'a run from source: the card says the system was left alone');
  const pool = page.locator('form[data-pool=clients]');
  await pool.locator('input[name=pool-dns]').fill('10.10.0.300');
  await pool.locator('button[type=submit]').click();
  await t.resolves(fieldError(pool, 'input[name=pool-dns]').filter({ hasText: '10.10.0.300:' }).waitFor(WAIT), "a client DNS server that is no address: refused at the pool's DNS field");
  await pool.locator('input[name=pool-dns]').fill('192.168.1.1');
  await pool.locator('button[type=submit]').click();
  await page.locator('.card[aria-label="address pools"]').getByRole('status').filter({ hasText: 'Pool clients saved' }).waitFor(WAIT);

  // Dynamic DNS: RFC 2136 with a TSIG key; errors at their fields, the key never shown back and kept on a later save.
  const ddns = page.getByRole('form', { name: 'public name updates' });
  await ddns.locator('input[name=ddns-enabled]').check();
  await ddns.locator('input[name=ddns-server]').fill('192.0.2.53');
  await ddns.locator('input[name=ddns-zone]').fill('example.org');
  await ddns.locator('input[name=ddns-keyName]').fill('postern-key');
  await ddns.locator('input[name=ddns-keySecret]').fill('c2hvcnQ=');
  await ddns.locator('button[type=submit]').click();
  await t.resolves(fieldError(ddns, 'input[name=ddns-keySecret]').waitFor(WAIT), 'a short TSIG key: refused at the key');
  await t.resolves(ddns.locator('li[data-path="system.publicName"]').waitFor(WAIT), 'no public name: said, naming the setting');
  const identity = page.getByRole('form', { name: 'public identity' });
  await identity.locator('input[name=publicName]').fill('vpn.example.com');
  await identity.locator('button[type=submit]').click();
  await identity.getByRole('status').filter({ hasText: 'Public identity saved' }).waitFor(WAIT);
  const key = Buffer.alloc(32, 7).toString('base64');
  await ddns.locator('input[name=ddns-keySecret]').fill(key);
  await ddns.locator('button[type=submit]').click();
  await t.resolves(fieldError(ddns, 'input[name=ddns-zone]').filter({ hasText: 'not in the zone example.org' }).waitFor(WAIT), 'a zone that does not hold the public name: refused at the zone');
  await ddns.locator('input[name=ddns-zone]').fill('example.com');
  await ddns.locator('button[type=submit]').click();
  await ddns.getByRole('status').filter({ hasText: 'Dynamic DNS saved' }).waitFor(WAIT);
  const keyInput = ddns.locator('input[name=ddns-keySecret]');
  // The form loads again after the message: bounded wait for the reloaded value.
  for (let i = 0; i < 100 && (await keyInput.inputValue()) === key; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await keyInput.inputValue(), '<redacted>', 'the saved key is not shown back');
  await ddns.locator('input[name=ddns-ttl]').fill('300');
  await ddns.locator('button[type=submit]').click();
  // The message of the first save is still up: the file tells when the second one landed.
  const savedConfig = () => JSON.parse(readFileSync(join(state, 'config', 'current.json'), 'utf8'));
  const ddnsSaved = () => savedConfig().config?.system?.dynamicDns ?? savedConfig().system?.dynamicDns;
  for (let i = 0; i < 100 && ddnsSaved()?.ttl !== 300; i++) await new Promise((r) => setTimeout(r, 100));
  const savedDdns = ddnsSaved();
  t.match(savedDdns, { enabled: true, method: 'rfc2136', server: '192.0.2.53', zone: 'example.com', keyName: 'postern-key', keySecret: key, ttl: 300 }, 'saved; the key kept through a save that left it redacted');
  await ddns.locator('input[name=ddns-enabled]').uncheck();
  await ddns.locator('button[type=submit]').click();
  await ddns.getByRole('status').filter({ hasText: 'Dynamic DNS off' }).waitFor(WAIT);

  // Issue 26: the fleet broker found by DNS SRV; a domain that is none refused at its field, then set and cleared.
  const telemetry = page.getByRole('form', { name: 'telemetry' });
  const discoveryInput = telemetry.locator('input[name=mqtt-discovery]');
  await discoveryInput.fill('not a domain!');
  await telemetry.locator('button[type=submit]').click();
  await t.resolves(fieldError(telemetry, 'input[name=mqtt-discovery]').waitFor(WAIT), 'a discovery domain that is no domain: refused at its field');
  await discoveryInput.fill('fleet.example.net');
  await telemetry.locator('button[type=submit]').click();
  await telemetry.getByRole('status').filter({ hasText: 'Telemetry saved' }).waitFor(WAIT);
  const discovery = () => (savedConfig().config ?? savedConfig()).telemetry?.mqtt?.discovery;
  for (let i = 0; i < 100 && discovery()?.domain !== 'fleet.example.net'; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(discovery(), { domain: 'fleet.example.net' }, 'the discovery domain saved');
  await discoveryInput.fill('');
  await telemetry.locator('button[type=submit]').click();
  for (let i = 0; i < 100 && discovery() !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(discovery(), undefined, 'emptied: discovery off, the broker URL used again');
  await screenshot(page, '17-10-router-settings');
  t.equal(await sideways(page), 0, 'Settings fit a phone screen');

  // HTTPS: on (fresh box), switched off: the page moves to http:// on the same port, which is served.
  const web = page.getByRole('form', { name: 'management' });
  t.ok(await web.locator('input[name=management-https]').isChecked(), 'the Web UI card shows HTTPS on');
  await web.locator('input[name=management-https]').uncheck();
  await web.locator('button[type=submit]').click();
  await page.waitForURL(`http://127.0.0.1:${port}/**`, WAIT);
  t.equal((await plainGet(port, '/')).status, 200, 'HTTPS off: plain HTTP is served, not redirected');
  await page.getByRole('form', { name: 'management' }).waitFor(WAIT);
  t.notOk(await page.locator('input[name=management-https]').isChecked(), 'the page, now over HTTP, shows it off');

  // Maintenance: ping and traceroute to loopback, an injected host refused at its field.
  await page.click('nav >> text=Maintenance');
  const diag = page.getByRole('form', { name: 'diagnostics' });
  await diag.locator('input[name=diag-host]').fill('127.0.0.1; id');
  await diag.locator('button[type=submit]').click();
  await t.resolves(fieldError(diag, 'input[name=diag-host]').waitFor(WAIT), 'a host with a shell command: refused at the host field');
  await diag.locator('input[name=diag-host]').fill('127.0.0.1');
  await diag.locator('button[type=submit]').click();
  await t.resolves(diag.getByTestId('diag-output').filter({ hasText: '3 received' }).waitFor(WAIT), 'ping 127.0.0.1 from the gateway: 3 answered');
  await diag.locator('select[name=diag-tool]').selectOption('traceroute');
  await diag.locator('button[type=submit]').click();
  await t.resolves(diag.getByTestId('diag-output').filter({ hasText: /^traceroute to 127\.0\.0\.1, 1 hop\n 1 {2}127\.0\.0\.1/ }).waitFor(WAIT), 'traceroute: loopback at the first hop');

  // Export, then the same file changed and imported after its preview; a broken one refused in the preview.
  const backup = page.getByRole('region', { name: 'backup' });
  const exportForm = backup.getByRole('form', { name: 'export with secrets' });
  await exportForm.locator('input[name=export-password]').fill('not-the-password');
  await exportForm.locator('button[type=submit]').click();
  await t.resolves(fieldError(exportForm, 'input[name=export-password]').filter({ hasText: 'wrong administrator password' }).waitFor(WAIT), 'secrets with a wrong password: refused at the password');
  const [file] = await Promise.all([page.waitForEvent('download'), backup.locator('button[name=export]').click()]);
  const exported = JSON.parse(readFileSync(await file.path(), 'utf8'));
  t.same([exported.system.timezone, exported.system.dns.servers, exported.admin.passwordHash], ['Europe/Berlin', ['9.9.9.9', '149.112.112.112'], '<redacted>'], 'the export has the settings, not the secrets');
  exported.system.timezone = 'Asia/Tokyo';
  await backup.locator('input[name=import-file]').setInputFiles({ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) });
  const preview = backup.getByTestId('import-preview');
  await t.resolves(preview.locator('tr[data-path="system.timezone"]').filter({ hasText: 'Asia/Tokyo' }).waitFor(WAIT), 'the preview lists the changed setting');
  t.equal(await preview.locator('tr').count(), 1, 'and only that one');
  await preview.locator('button[name=import-apply]').click();
  await backup.getByRole('status').filter({ hasText: 'Configuration imported' }).waitFor(WAIT);
  exported.pools[0].ipv4 = '10.10.0.0/33';
  await backup.locator('input[name=import-file]').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) });
  await t.resolves(preview.locator('li[data-path="pools[0].ipv4"]').filter({ hasText: 'prefix length' }).waitFor(WAIT), 'a broken file: refused in the preview at its path');
  t.equal(await preview.locator('button[name=import-apply]').count(), 0, 'with no Import button');
  await screenshot(page, '17-11-maintenance');
  t.equal(await sideways(page), 0, 'Maintenance, preview and tool output included, fits a phone screen');

  // Reboot: asked in a dialog; under `postern run` from source the service restarts in place.
  const listening = p.records.filter((r) => r['msg'] === 'web listening').length;
  await page.locator('button[name=reboot]').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  t.equal(p.records.filter((r) => r['msg'] === 'restart asked for by the administrator (not running as firmware: the service restarts)').length, 0, 'Cancel does nothing');
  await page.locator('button[name=reboot]').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Reboot' }).click();
  await t.resolves(page.getByRole('region', { name: 'reboot' }).getByRole('status').filter({ hasText: 'Restarting the service' }).waitFor(WAIT), 'the page says what happens');
  await p.waitFor((r) => r['msg'] === 'web listening' && p.records.filter((x) => x['msg'] === 'web listening').length > listening, 30_000);
  const again = p.records.filter((r) => r['msg'] === 'web listening').at(-1)!;
  t.same([again['port'], again['https']], [port, false], 'the service came back on the same port, over plain HTTP as set');
  await t.resolves(page.getByRole('form', { name: 'login' }).waitFor({ timeout: 30_000 }), 'and the page, back, asks to log in again');
  t.same(errors, [], 'no script errors in the page');
  t.comment(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
