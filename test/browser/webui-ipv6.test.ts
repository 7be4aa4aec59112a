// Management over IPv6 (issue 24) in Chromium: `postern run` with its web UI on [::1] (loopback: the
// test binds no address of the host's networks). The plain-HTTP address redirects to HTTPS on the
// same bracketed host; first boot, login and a change (a user added on the Users page) pass the
// same-origin and CSRF checks with an IPv6 Host and Origin; the user is in the configuration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { browserMissing, firstBootAndLogIn, launchBrowser } from '../helpers/browser.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

t.test('the web UI and API over IPv6: redirect to HTTPS, first boot, login and a change with an IPv6 origin', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ui6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', join(dir, 'state'), '--management', '[::1]:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const port = String(listening['port']);
  t.equal(listening['address'], '::1', 'listening on the IPv6 loopback');
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await firstBootAndLogIn(page, `http://[::1]:${port}`, ADMIN);
  t.equal(new URL(page.url()).origin, `https://[::1]:${port}`, `plain HTTP was redirected to HTTPS on the same IPv6 host: ${page.url()}`);

  await page.click('nav >> text=Users');
  const add = page.getByRole('form', { name: 'add a user' });
  await add.waitFor();
  await add.locator('input[name=name]').fill('v6user');
  await add.locator('input[name=password]').fill('Lantern-Meadow-Quartz-61');
  await add.locator('button[type=submit]').click();
  await page.getByRole('region', { name: 'users' }).locator('tr[data-user=v6user]').waitFor({ timeout: 20_000 });
  t.pass('a user added through the page: the change passed the origin and CSRF checks with Host and Origin [::1]');
  const committed = await p.waitFor((r) => r['msg'] === 'configuration committed' && /v6user/.test(String(r['comment'] ?? '')), 10_000).catch(() => undefined);
  t.ok(committed, 'and committed to the configuration');
  t.same(errors, [], 'no script errors');
});
