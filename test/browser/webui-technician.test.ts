// Issue 17, the technician's pages in Chromium against `postern run` on loopback: the Logs page
// readable after an error is logged (element boxes checked in the screenshot's pixels at desktop
// and phone sizes), history newest first with a diff by field and a rollback preview, safe mode
// reverting by itself, and a site's Test. One gateway and one browser for the whole file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { decodePng, inkIn } from '../helpers/png.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Copper-Wire-Falcon-55';
const WAIT = { timeout: 15_000 };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

interface Box { x: number; y: number; width: number; height: number }

/** Calls the API from the page (its session and CSRF token), as the UI would. */
const apiCall = (page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> =>
  page.evaluate(`(async () => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1${path}', { method: '${method}', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, ${body === undefined ? '' : `body: ${JSON.stringify(JSON.stringify(body))}`} });
    return { status: r.status, body: await r.json().catch(() => ({})) };
  })()`);

t.test('issue 17: logs, history, safe mode and site tests in the browser', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-tech-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ acceptDownloads: true, viewport: DESKTOP });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  const setup = page.getByRole('form', { name: 'first-boot setup' });
  await setup.waitFor(WAIT);
  await setup.locator('input[name=password]').fill(ADMIN);
  await setup.locator('input[name=again]').fill(ADMIN);
  await setup.locator('input[name=publicAddress]').fill('203.0.113.5');
  await setup.locator('button[type=submit]').click();
  await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor(WAIT);

  await t.test('the Logs page stays readable after an error, on a desktop and a phone', async (t) => {
    // An error in the log: a refused change (a peer address that is no address) is logged at level error.
    const refused = await apiCall(page, 'POST', '/sites', { name: 'bad', protocol: 'ikev2', remote: '300.1.1.1', localSubnets: ['10.9.0.0/24'], remoteSubnets: ['10.20.0.0/16'], auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true });
    t.equal(refused.status, 422);
    await page.click('nav >> text=Logs');
    const logs = page.getByRole('region', { name: 'logs' });
    await logs.locator('.log-line[data-level=error]').first().waitFor(WAIT);
    for (const label of ['Level (and above)', 'Subsystem', 'Search']) t.equal(await logs.getByLabel(label).count(), 1, `the ${label} filter is labelled`);
    for (const [name, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      const layout = await page.evaluate(`(() => {
        const card = document.querySelector('section[aria-label=logs]');
        const lines = [...document.querySelectorAll('.log-line')].map((li) => {
          const m = li.querySelector('.log-msg');
          const r = m.getBoundingClientRect();
          return { level: li.dataset.level, x: r.x, y: r.y, width: r.width, height: r.height, scroll: m.scrollWidth, client: m.clientWidth, row: li.getBoundingClientRect().width };
        });
        return { viewport: document.documentElement.clientWidth, sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth, cardOverflow: card.scrollWidth - card.clientWidth, lines };
      })()`) as { viewport: number; sideways: number; cardOverflow: number; lines: Array<Box & { level: string; scroll: number; client: number; row: number }> };
      t.ok(layout.lines.length >= 5, `${name}: ${layout.lines.length} records listed`);
      t.ok(layout.sideways <= 1 && layout.cardOverflow <= 1, `${name}: nothing scrolls sideways (page ${layout.sideways}px, card ${layout.cardOverflow}px)`);
      const clipped = layout.lines.filter((l) => l.width < 40 || l.x < 0 || l.x + l.width > layout.viewport + 0.5 || l.scroll > l.client + 1);
      t.same(clipped, [], `${name}: every message column is visible, inside the viewport and not clipped`);
      const xs = new Set(layout.lines.map((l) => Math.round(l.x)));
      t.equal(xs.size, 1, `${name}: the message column is one column for every level (error rows included): x = ${[...xs].join(', ')}`);
      const share = Math.min(...layout.lines.map((l) => l.width / l.row));
      t.ok(share >= (name === 'phone' ? 0.85 : 0.5), `${name}: the message takes ${Math.round(share * 100)}% of its row at least`);
      // What was drawn: the error's message box, scrolled into view, has its text in the screenshot's pixels.
      const error = logs.locator('.log-line[data-level=error] .log-msg').first();
      await error.scrollIntoViewIfNeeded();
      const box = await error.boundingBox();
      const shot = decodePng(readFileSync(await screenshotViewport(page, `17-tech-logs-${name}`)));
      t.ok(box && box.x + box.width <= shot.width + 0.5, `${name}: the error message's box is inside the screenshot`);
      const ink = box ? inkIn(shot, box) : 0;
      t.ok(ink > 200, `${name}: its text is drawn inside its box (${ink} pixels of ink)`);
      t.ok(box && box.height > 20, `${name}: the long error message wraps onto several lines (${box?.height}px high)`);
    }
    await page.setViewportSize(DESKTOP);
    await logs.locator('select[name=log-level]').selectOption('error');
    await page.waitForFunction(`[...document.querySelectorAll('.log-line')].every((l) => l.dataset.level === 'error')`, undefined, WAIT);
    await logs.locator('select[name=log-level]').selectOption('info');
    await logs.locator('input[name=log-search]').fill('logged in');
    await page.waitForFunction(`document.querySelectorAll('.log-line').length >= 1 && [...document.querySelectorAll('.log-line .log-msg')].every((m) => m.textContent.includes('logged in'))`, undefined, WAIT);
    await logs.locator('input[name=log-search]').fill('');
    const [text] = await Promise.all([page.waitForEvent('download'), logs.locator('button[name=log-download-text]').click()]);
    t.match(text.suggestedFilename(), /^postern-log-.*\.txt$/);
    t.match(readFileSync(await text.path(), 'utf8'), /ERROR postern\s+configuration change refused/, 'the text download has the error line');
    const [jsonl] = await Promise.all([page.waitForEvent('download'), logs.locator('button[name=log-download-jsonl]').click()]);
    const lines = readFileSync(await jsonl.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    t.ok(lines.some((l) => l.level === 'error' && l.msg === 'configuration change refused'), 'the JSON lines download has it as a record');
  });

  await t.test('history: newest first with time, author and comment; SSTP off in the diff; rollback previewed, confirmed', async (t) => {
    t.equal((await apiCall(page, 'PUT', '/listeners/sstp', { enabled: false })).status, 200);
    const sstpOff = (await apiCall(page, 'GET', '/config')).body['revision'] as number;
    t.equal((await apiCall(page, 'POST', '/users', { name: 'bob', password: 'Correct-Horse-Battery-7', enabled: true })).status, 201);
    t.equal((await apiCall(page, 'POST', '/sites', { name: 'branch', protocol: 'ikev2', remote: '198.51.100.7', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.20.0.0/16'], auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true })).status, 201);
    await page.click('nav >> text=History');
    const history = page.getByRole('region', { name: 'history' });
    await history.locator('tr[data-revision]').first().waitFor(WAIT);
    const rows = await history.locator('tr[data-revision]').evaluateAll((trs) => trs.map((tr) => ({ revision: Number(tr.getAttribute('data-revision')), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })));
    const numbers = rows.map((r) => r.revision);
    t.same(numbers, [...numbers].sort((a, b) => b - a), `newest first: ${numbers.join(', ')}`);
    t.match(rows[0]?.cells, [/\(current\)/, /\d/, 'admin', /site branch added|added|site/i], 'the current revision first, with time, author and comment');
    t.ok(rows.every((r) => r.cells[1] !== '—' && r.cells[2] !== ''), 'every revision has a time and an author');
    await history.locator(`tr[data-revision="${sstpOff}"] button[name=history-changes]`).click();
    const sstpChange = history.locator('.changes li[data-path="listeners.sstp.enabled"]');
    await sstpChange.waitFor(WAIT);
    t.match(await sstpChange.innerText(), /true → false/, 'switching SSTP off shows in the diff');
    await history.locator(`tr[data-revision="${sstpOff}"] button[name=history-compare]`).click();
    await history.getByLabel(`changes since revision ${sstpOff}`).locator('li[data-path="users[bob]"][data-kind=added]').waitFor(WAIT);
    t.pass('compared with now: the user added since is listed');
    await history.locator(`tr[data-revision="${sstpOff}"] button[name=history-rollback]`).click();
    const preview = history.getByRole('dialog', { name: `roll back to revision ${sstpOff}` });
    await preview.waitFor(WAIT);
    t.match(await preview.locator('[data-removed=users]').innerText(), /Removes user bob/, 'the preview says the user goes');
    t.match(await preview.locator('[data-removed=sites]').innerText(), /Removes site branch/, 'and the site');
    t.equal(await preview.locator('.changes li[data-path="users[bob]"][data-kind=removed]').count(), 1);
    t.equal(await preview.locator('.changes li[data-path="sites[branch]"][data-kind=removed]').count(), 1);
    await screenshot(page, '17-tech-rollback-preview');
    await preview.locator('button[name=rollback-cancel]').click();
    t.equal(await preview.count(), 0, 'cancel closes the preview');
    t.equal(((await apiCall(page, 'GET', '/users')).body['users'] as unknown[]).length, 1, 'and nothing was rolled back');
    await history.locator(`tr[data-revision="${sstpOff}"] button[name=history-rollback]`).click();
    await preview.locator('button[name=rollback-confirm]').click();
    await history.getByRole('status').filter({ hasText: `Rolled back to revision ${sstpOff}` }).waitFor(WAIT);
    t.same(((await apiCall(page, 'GET', '/users')).body['users'] as unknown[]).length, 0, 'confirmed: bob is gone');
    t.same(((await apiCall(page, 'GET', '/sites')).body['sites'] as unknown[]).length, 0, 'and so is the site');
    t.equal((await apiCall(page, 'POST', '/config/rollback', { revision: sstpOff, expectedRevision: 1 })).status, 409, 'a rollback against a stale preview is refused');
  });

  await t.test('safe mode: a LAN change not confirmed reverts by itself; a confirmed one stays', async (t) => {
    await page.click('nav >> text=Settings');
    const ports = page.getByRole('form', { name: 'interfaces' });
    await ports.waitFor(WAIT);
    const original = await ports.locator('input[name=lan-address]').inputValue();
    await ports.locator('input[name=lan-address]').fill('192.168.1.2/24');
    await ports.locator('input[name=safe-mode]').check();
    await ports.locator('input[name=safe-mode-seconds]').fill('6');
    await ports.locator('button[type=submit]').click();
    const banner = page.getByRole('alert', { name: 'safe mode' });
    await banner.filter({ hasText: 'unless you confirm it' }).waitFor(WAIT);
    t.ok(await banner.locator('button[name=safe-mode-confirm]').isVisible(), 'the banner offers to keep the change');
    const left = Number(await banner.locator('[data-seconds-left]').getAttribute('data-seconds-left'));
    t.ok(left > 0 && left <= 6, `it counts down (${left} s left)`);
    await screenshot(page, '17-tech-safe-mode-pending');
    t.equal(((await apiCall(page, 'GET', '/interfaces')).body['lan'] as { address: string }).address, '192.168.1.2/24', 'the change runs meanwhile');
    await banner.filter({ hasText: 'Safe mode reverted the configuration' }).waitFor({ timeout: 20_000 });
    t.equal(((await apiCall(page, 'GET', '/interfaces')).body['lan'] as { address: string }).address, original, 'not confirmed: the LAN address is back');
    const log = (await apiCall(page, 'GET', '/logs?level=warn&q=safe%20mode')).body['records'] as Array<{ msg: string }>;
    t.ok(log.some((r) => r.msg === 'safe mode: change not confirmed, configuration reverted'), 'and the log says so');
    await screenshot(page, '17-tech-safe-mode-reverted');
    await banner.locator('button[name=safe-mode-dismiss]').click();
    await ports.locator('input[name=lan-address]').fill('192.168.1.3/24');
    await ports.locator('input[name=safe-mode]').check();
    await ports.locator('input[name=safe-mode-seconds]').fill('60');
    await ports.locator('button[type=submit]').click();
    await banner.locator('button[name=safe-mode-confirm]').click();
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    t.equal(((await apiCall(page, 'GET', '/interfaces')).body['lan'] as { address: string }).address, '192.168.1.3/24', 'confirmed: the change stays');
    t.equal((await apiCall(page, 'PUT', '/interfaces?confirmWithin=2', { lan: { address: original } })).status, 400, 'confirmWithin under 5 s is refused');
    await apiCall(page, 'PUT', '/interfaces', { lan: { address: original } });

    // A listener switch applies at once, through safe mode when ticked: IKEv2 flipped, not confirmed, flips back.
    const listeners = page.getByRole('form', { name: 'listeners' });
    const ikev2 = async () => ((await apiCall(page, 'GET', '/listeners')).body['listeners'] as { ikev2: { enabled: boolean } }).ikev2.enabled;
    const before = await ikev2();
    await listeners.locator('input[name=safe-mode]').check();
    await listeners.locator('input[name=safe-mode-seconds]').fill('5');
    await listeners.locator('input[name=listener-ikev2]').click();
    await banner.filter({ hasText: 'unless you confirm it' }).waitFor(WAIT);
    t.equal(await ikev2(), !before, 'the IKEv2 switch applied at once, in safe mode');
    await banner.filter({ hasText: 'Safe mode reverted the configuration' }).waitFor({ timeout: 20_000 });
    t.equal(await ikev2(), before, 'not confirmed: the listener is back as it was');
    await banner.locator('button[name=safe-mode-dismiss]').click();
  });

  await t.test('sites: state, last error, and the Test button', async (t) => {
    t.equal((await apiCall(page, 'POST', '/sites', { name: 'hq', protocol: 'ikev2', remote: '198.51.100.8', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.30.0.0/16'], auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true })).status, 201);
    await page.click('nav >> text=Sites');
    const row = page.locator('tr[data-site=hq]');
    await row.waitFor(WAIT);
    t.match(await row.locator('td[data-label=state]').innerText(), /down/);
    await row.locator('button[name=site-test]').click();
    const result = page.locator('[data-test-result=hq]');
    await result.waitFor(WAIT);
    // This gateway runs only its web UI: the Test says why it cannot dial (the lab test dials strongSwan).
    t.match(await result.innerText(), /IKEv2 is not running/, 'the Test answers on the page');
  });

  t.same(errors, [], 'no script errors in the page');
});

/** The visible part only, so element boxes (viewport coordinates) and pixels line up. */
async function screenshotViewport(page: Page, name: string): Promise<string> {
  const path = await screenshot(page, name);
  await page.screenshot({ path, fullPage: false });
  return path;
}
