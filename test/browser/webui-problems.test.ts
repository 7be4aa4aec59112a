// The Connection problems page (issue 17) in Chromium against `postern run`: the API's answer is
// stood in by problems the doctor itself classified, so the page is checked for what a technician
// reads (who, explanation, the client's error, the fix) and for its user filter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { classify } from '../../firmware/doctor/classify.ts';
import { ProblemRing } from '../../firmware/doctor/problem-ring.ts';
import { browserMissing, firstBootAndLogIn, launchBrowser, screenshot } from '../helpers/browser.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

t.test('failed attempts listed with explanation, client error and fix; filtered by user', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, ['--import', 'tsx', resolve('firmware/main.ts')], ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 20_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const ring = new ProblemRing();
  ring.record(classify({ kind: 'ike-log', level: 'warn', msg: "EAP refused: MS-CHAPv2 authentication of 'alice' failed", fields: { remote: '198.51.100.7:4500', user: 'alice' } })!, Date.now() - 60_000);
  ring.record(classify({ kind: 'ike-log', level: 'warn', msg: "IKE_AUTH refused: shared key mismatch for peer 'branch.example' (connection site:branch)", fields: { remote: '203.0.113.9:4500', peerId: 'branch.example' } })!, Date.now());
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const asked: string[] = [];
  await page.route('**/api/v1/problems*', async (route) => {
    const url = new URL(route.request().url());
    asked.push(url.search);
    const user = url.searchParams.get('user') ?? undefined;
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ problems: ring.list(user ? { user } : {}) }) });
  });

  await firstBootAndLogIn(page, base, ADMIN);

  await page.click('nav >> text=Connection problems');
  const region = page.getByRole('region', { name: 'connection problems' });
  const alice = region.locator('[data-cause=wrong-password]');
  await alice.waitFor();
  const text = await alice.innerText();
  t.match(text, /alice/);
  t.match(text, /from 198\.51\.100\.7/);
  t.match(text, /user name or the password is wrong/);
  t.match(text, /Windows shows\s+Error 691/);
  t.match(text, /Fix:.*Users page/s);
  const site = await region.locator('[data-cause=psk-mismatch]').innerText();
  t.match(site, /site branch/);
  t.notMatch(site, /Windows shows/, 'a site is another gateway: no client screen quoted');
  t.equal(await region.locator('li.problem').first().getAttribute('data-cause'), 'psk-mismatch', 'newest first');
  await screenshot(page, 'problems-01-list');

  await region.getByLabel('User').fill('alice');
  await region.locator('li.problem').nth(1).waitFor({ state: 'detached', timeout: 5000 });
  t.equal(await region.locator('li.problem').count(), 1, 'only alice\'s problem');
  t.ok(asked.some((q) => q.includes('user=alice')), 'the filter is asked of the API');
  await page.setViewportSize({ width: 375, height: 740 });
  const box = await region.boundingBox();
  t.ok(box && box.width <= 375, 'fits a phone-sized screen');
  await screenshot(page, 'problems-02-phone');
  t.same(errors, [], 'no script errors');
});
