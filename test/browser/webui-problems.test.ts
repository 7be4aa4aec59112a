// The Connection problems page (issue 17) in Chromium against `postern run`: the API's answer is
// stood in by problems the doctor itself classified, so the page is checked for what a technician
// reads (who, explanation, the client's error, the fix) and for its user filter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { classify } from '../../firmware/doctor/classify.ts';
import { ProblemRing } from '../../firmware/doctor/problem-ring.ts';
import { browserMissing, firstBootAndLogIn, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

t.test('failed attempts listed with explanation, client error and fix; filtered by user', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
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
    const site = url.searchParams.get('site') ?? undefined;
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ problems: ring.list({ ...(user ? { user } : {}), ...(site ? { site } : {}) }) }) });
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

  // The site refused again: one entry counting two. The Sites page links its last error to that entry,
  // which opens filtered to the site, in view and focused (the site list is stood in as the problems are).
  const again = ring.record(classify({ kind: 'ike-log', level: 'warn', msg: "IKE_AUTH refused: shared key mismatch for peer 'branch.example' (connection site:branch)", fields: { remote: '203.0.113.9:4500', peerId: 'branch.example' } })!, Date.now());
  t.equal(again.count, 2, 'the repeat counts on the entry');
  const lastError = { time: again.lastTime, cause: again.cause, explanation: again.explanation, fix: again.fix, detail: again.detail, problemId: again.id, count: again.count };
  await page.route('**/api/v1/sites', async (route) => {
    if (route.request().method() !== 'GET') return route.fallback();
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ sites: [{ name: 'branch', protocol: 'ikev2', remote: '203.0.113.9', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.20.0.0/16'], state: 'down', rxPackets: 0, txPackets: 0, enabled: true, lastError }] }) });
  });
  await page.click('nav >> text=Sites');
  const link = page.locator('tr[data-site=branch] a.problem-link');
  await link.waitFor();
  t.equal(await link.innerText(), 'In Connection problems (2 times)', 'the last error links to the doctor\'s entry');
  await link.click();
  const entry = region.locator(`li.problem[data-problem="${again.id}"]`);
  await entry.waitFor();
  t.equal(await region.getByLabel('Site').inputValue(), 'branch', 'the page opens filtered to the site');
  t.ok(asked.some((q) => q.includes('site=branch')), 'and asks the API for that site');
  // The page focuses the entry in an effect after it is drawn: wait for that (bounded), then say where the focus is.
  await page.waitForFunction(`document.activeElement && document.activeElement.getAttribute('data-problem') === '${again.id}'`, undefined, { timeout: 5000 }).catch(() => undefined);
  t.equal(await page.evaluate('document.activeElement && document.activeElement.getAttribute("data-problem")'), String(again.id), 'the entry has the focus');
  t.match(await entry.innerText(), /2 times, last/, 'with its count and last time');

  // Per user: the Users page names alice's failed attempts and links to them, filtered to her.
  await page.click('nav >> text=Users');
  const add = page.getByRole('form', { name: 'add a user' });
  await add.locator('input[name=name]').fill('alice');
  await add.locator('input[name=password]').fill('Correct-Horse-Battery-7');
  await add.locator('button[type=submit]').click();
  const userLink = page.locator('tr[data-user=alice] a.problem-link');
  await userLink.waitFor();
  t.match(await userLink.innerText(), /^1 failed attempt, last /, 'the Users page: alice\'s failed attempt, counted');
  t.match(await userLink.getAttribute('title') ?? '', /user name or the password is wrong/, 'its cause in words on the link');
  asked.length = 0;
  await userLink.click();
  await region.locator('li.problem[data-cause=wrong-password]').waitFor();
  t.equal(await region.getByLabel('User').inputValue(), 'alice', 'the Connection problems page opens filtered to her');
  t.equal(await region.locator('li.problem').count(), 1, 'showing only her problem');
  t.ok(asked.some((q) => q.includes('user=alice')), 'asked of the API by user');
  t.same(errors, [], 'no script errors');
});
