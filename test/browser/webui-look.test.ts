// Issue 17, how the web UI reads, in Chromium against `postern run`: the dashboard's throughput chart
// (axes in bit/s and clock time, fed real status answers whose byte counters the test advances, on
// Playwright's clock); on every page, in the light and the dark scheme (prefers-color-scheme
// emulated), every visible text at WCAG AA contrast against what is really behind it; every control
// with an accessible name (Chromium's own accessibility tree); and at 375 px wide, no page wider than
// the screen. Screenshots in test/artifacts/screenshots/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

// What the functions below use inside the page (this project's tsconfig has no DOM library).
declare const document: any, Node: any, SVGElement: any, performance: any;
type PerformanceResourceTiming = { name: string; transferSize: number; encodedBodySize: number; decodedBodySize: number };
declare function getComputedStyle(element: any): any;
type Element = any;

const skip = labSkip(browserMissing());
const ADMIN = 'Harbor-Violet-Engine-64';
const WAIT = { timeout: 15_000 };
const START = Date.parse('2026-12-05T10:00:00Z');

interface LowContrast { text: string; ratio: number; needed: number; color: string; background: string }

/**
 * In the page: every visible element with its own text, its colour against the background really
 * behind it (ancestors' backgrounds composited), WCAG 2.x relative luminance. Large text (24 px, or
 * 18.66 px bold) needs 3:1, the rest 4.5:1; disabled controls are exempt (WCAG 1.4.3).
 */
function lowContrast(): LowContrast[] {
  type Rgba = [number, number, number, number];
  const parse = (c: string): Rgba => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return [0, 0, 0, 0];
    const [r, g, b, a] = m[1]!.split(/[ ,/]+/).filter(Boolean).map(Number);
    return [r!, g!, b!, a ?? 1];
  };
  const over = (top: Rgba, under: Rgba): Rgba => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = (i: number) => (top[i]! * top[3] + under[i]! * under[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const backgroundOf = (el: Element | null): Rgba => {
    const layers: Rgba[] = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    // The canvas behind everything: the root's background, else white.
    return layers.reverse().reduce<Rgba>((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]: Rgba) => [r, g, b].map((v) => v / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)).reduce((s, c, i) => s + c * [0.2126, 0.7152, 0.0722][i]!, 0);
  const out: LowContrast[] = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim()).map((n) => n.textContent!.trim()).join(' ');
    if (!own || el.closest('[disabled], svg title, svg desc, noscript, option')) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility !== 'visible' || Number(style.opacity) < 0.1 || box.width === 0 || box.height === 0) continue;
    // SVG text is painted with fill; HTML text with color.
    const background = backgroundOf(el instanceof SVGElement ? el.closest('svg') : el);
    const color = over(parse(el instanceof SVGElement ? style.fill : style.color), background);
    const [hi, lo] = [luminance(color), luminance(background)].sort((a, b) => b - a) as [number, number];
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const needed = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700) ? 3 : 4.5;
    if (ratio < needed) out.push({ text: own.slice(0, 40), ratio: Math.round(ratio * 100) / 100, needed, color: style.color, background: `rgb(${background.slice(0, 3).map(Math.round).join(', ')})` });
  }
  return out;
}

/** Controls Chromium's accessibility tree gives no name, each described by its tag and attributes. */
async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }> };
    const controls = new Set(['button', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'switch', 'spinbutton', 'slider', 'menuitem', 'link']);
    const out: string[] = [];
    for (const n of nodes) {
      if (n.ignored || !controls.has(n.role?.value ?? '') || (n.name?.value ?? '').trim()) continue;
      let what = `${n.role?.value}`;
      if (n.backendDOMNodeId !== undefined) {
        const { node } = (await cdp.send('DOM.describeNode', { backendNodeId: n.backendDOMNodeId })) as { node: { nodeName: string; attributes?: string[] } };
        what += ` <${node.nodeName.toLowerCase()} ${(node.attributes ?? []).join(' ')}>`;
      }
      out.push(what);
    }
    return out;
  } finally {
    await cdp.detach();
  }
}

t.test('issue 17: the throughput chart, contrast in light and dark, named controls, a phone-sized screen', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-look-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;

  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ timezoneId: 'UTC', colorScheme: 'light' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // tsx compiles the functions given to page.evaluate with esbuild's keepNames, which calls __name.
  await page.addInitScript('globalThis.__name = (f) => f;');
  // The gateway's real status, with traffic counters that grow 2 Mbit/s received, 0.5 Mbit/s sent per 5-s poll.
  let polls = 0;
  await page.route('**/api/v1/status', async (route) => {
    const res = await route.fetch();
    const body = (await res.json()) as Record<string, unknown>;
    polls++;
    body['traffic'] = { bytes: polls * 1_562_500, bytesIn: polls * 1_250_000, bytesOut: polls * 312_500 };
    await route.fulfill({ response: res, json: body });
  });
  await page.clock.install({ time: START });
  await page.goto(base);
  // The first two screens a technician sees, in both schemes.
  const before = async (form: string) => {
    await page.getByRole('form', { name: form }).waitFor(WAIT);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      t.same(await page.evaluate(lowContrast), [], `${scheme}, ${form}: no text under 4.5:1`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    t.same(await unnamedControls(page), [], `${form}: every control named`);
  };
  await before('first-boot setup');
  await page.fill('input[name=password]', ADMIN);
  await page.fill('input[name=again]', ADMIN);
  await page.click('button[type=submit]');
  await before('login');
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  await page.getByRole('region', { name: 'dashboard' }).waitFor(WAIT);

  await t.test('the chart: bit/s on a round-stepped axis, clock times, both directions', async (t) => {
    const chart = page.getByTestId('throughput');
    // From here the page's clock moves only when the test says: each poll lands exactly 5 s after the last.
    // 10 s after the clock's start, or a little later when first boot and login took longer (a loaded
    // machine): a clock cannot be paused in its past. Never on a whole minute at the last poll, so the
    // axis shows exactly the five minutes before it.
    const pageNow = Number(await page.evaluate('Date.now()'));
    let pausedAt = Math.max(START + 10_000, Math.ceil((pageNow + 2000) / 5000) * 5000);
    if ((pausedAt + 40_000) % 60_000 === 0) pausedAt += 5000;
    await page.clock.pauseAt(pausedAt);
    // The points drawn so far (none before the first answer).
    const drawn = async () => ((await chart.locator('polyline[data-series=inBps]').getAttribute('points', { timeout: 500 }).catch(() => null)) ?? '').trim().split(' ').filter(Boolean).length;
    for (let i = 0; i < 8; i++) {
      const before = polls;
      const had = await drawn();
      // A jump, then each due timer once: the poll reads the clock at the jump's end, 5 s after the last
      // (runFor would step through the safe-mode banner's 500-ms ticks, and a poll could land between).
      await page.clock.fastForward(5000);
      for (let n = 0; polls === before && n < 300; n++) await page.waitForTimeout(50);
      // And its answer drawn before the next jump: the page sets its next poll only then (a loaded
      // machine answered late once, the jump found no timer, and a point was missing).
      for (let n = 0; (await drawn()) <= had && n < 200; n++) await page.waitForTimeout(50);
    }
    await t.resolves(page.locator('figcaption .legend', { hasText: /received 2 Mbit\/s/ }).waitFor(WAIT), 'received: 2 Mbit/s now');
    t.match(await page.locator('figcaption').innerText(), /sent 500 kbit\/s/, 'sent: 0.5 Mbit/s, in kbit/s');
    const yLabels = await chart.locator('.y-tick text').allTextContents();
    t.equal(yLabels[0], '0 bit/s', 'the value axis starts at 0');
    t.ok(yLabels.slice(1).every((l) => / (k|M)bit\/s$/.test(l)), `value labels with units: ${yLabels.join(', ')}`);
    t.ok(yLabels.length >= 3 && yLabels.length <= 5, 'a few round steps');
    const xLabels = await chart.locator('.x-tick text').allTextContents();
    const lastMinute = Math.floor((pausedAt + 40_000) / 60_000) * 60_000;
    const minutes = [4, 3, 2, 1, 0].map((k) => new Date(lastMinute - k * 60_000).toISOString().slice(11, 16));
    t.same(xLabels, minutes, `the time axis: each minute of the last five, on the clock (${minutes.join(', ')})`);
    t.equal(await chart.locator('polyline[data-series=inBps]').count(), 1, 'one unbroken line while the page was open');
    const points = (await chart.locator('polyline[data-series=inBps]').getAttribute('points'))!.trim().split(' ');
    t.ok(points.length >= 7, `${points.length} points drawn`);
    const ys = points.map((pt) => Number(pt.split(',')[1]));
    const topTickY = Number(await chart.locator('.y-tick line').last().getAttribute('y1'));
    t.ok(ys.every((y) => y >= topTickY - 0.5), 'every point under the top of the axis');
    t.match(await chart.locator('desc').textContent() ?? '', /now 2 Mbit\/s received and 500 kbit\/s sent; peak 2 Mbit\/s/, 'a text summary for screen readers');
    await screenshot(page, 'look-01-chart');
    // Time flows again (Preact runs effects on animation frames and timers).
    await page.clock.resume();
    // Another page and back: what was measured is still drawn at once.
    await page.click('nav >> text=Users');
    await page.getByRole('region', { name: 'users' }).waitFor(WAIT);
    await page.click('nav >> text=Dashboard');
    await page.getByTestId('throughput').waitFor(WAIT);
    const back = (await page.getByTestId('throughput').locator('polyline[data-series=inBps]').first().getAttribute('points'))!.trim().split(' ');
    t.ok(back.length >= points.length, `back on the dashboard: the ${back.length} points measured before are still drawn`);
  });

  const pages = await page.locator('nav a').evaluateAll((links) => links.map((a) => (a as unknown as { hash: string }).hash.slice(1)));
  t.ok(pages.length >= 8, `pages: ${pages.join(', ')}`);
  const visit = async (id: string) => {
    await page.goto(`${base}/#${id}`);
    // Each page draws a section, a form or a card of its own.
    await page.locator('main :is(section, form, .card)').first().waitFor(WAIT);
    // Lists load after the page: let the answers arrive.
    await page.waitForLoadState('networkidle');
  };

  await t.test('on every page: every text at WCAG AA in the light and the dark scheme, every control named', async (t) => {
    for (const id of pages) {
      await visit(id);
      for (const scheme of ['light', 'dark'] as const) {
        // The scheme changes the computed styles in place: no reload needed.
        await page.emulateMedia({ colorScheme: scheme });
        if (id === pages[0]) t.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(244, 246, 249)', `${scheme}: the page's background follows the scheme`);
        t.same(await page.evaluate(lowContrast), [], `${scheme}, ${id}: no text under 4.5:1 (3:1 large)`);
      }
      await page.emulateMedia({ colorScheme: 'light' });
      t.same(await unnamedControls(page), [], `${id}: no button, field or link without a name`);
    }
    // Texts only shown after something happened: every message and field state, put in a card as the pages do.
    await visit('users');
    await page.evaluate(() => {
      const probe = document.createElement('div');
      probe.className = 'card';
      probe.id = 'probe';
      probe.innerHTML = '<p class="message error">refused</p><p class="message ok">saved</p><p class="message warn">careful</p><label class="field invalid"><span>Field</span><input value="typed"><small class="error">wrong</small></label><label class="field warned"><span>Field</span><small class="warning">odd</small><small class="hint">hint</small></label><button>Primary</button> <button class="danger">Danger</button> <button class="secondary">Secondary</button> <button class="link">Link</button><span class="state running">running</span><span class="state failed">failed</span><span class="state disabled">disabled</span>';
      document.querySelector('main')!.prepend(probe);
    });
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      t.same(await page.evaluate(lowContrast), [], `${scheme}: messages, field errors and warnings, every kind of button`);
      await screenshot(page, `look-02-${scheme}-users`);
    }
    await page.evaluate(() => document.getElementById('probe')?.remove());
  });

  await t.test('a phone-sized screen (375 px): no page wider than the screen', async (t) => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const id of pages) {
      await visit(id);
      const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth }));
      t.ok(widths.doc <= 375 && widths.body <= 375, `${id}: ${widths.doc} px wide`);
      t.equal(await page.locator('nav a[aria-current=page]').getAttribute('href'), `#${id}`, `${id}: the menu says which page is shown`);
      await screenshot(page, `look-03-phone-dark-${id}`);
    }
  });
  t.same(errors, [], 'no script errors');

  await t.test('what a browser transfers for the page, its script and its styles: brotli over HTTP on loopback and over HTTPS', async (t) => {
    const weigh = async (url: string, contextOptions: Parameters<typeof browser.newContext>[0]) => {
      const c = await browser.newContext(contextOptions);
      const fresh = await c.newPage();
      const codings: string[] = [];
      fresh.on('response', (r) => void (/\/(app\.[0-9a-f]{12}\.(js|css))?$/.test(new URL(r.url()).pathname) && codings.push(r.headers()['content-encoding'] ?? 'identity')));
      await fresh.goto(url);
      await fresh.getByRole('form', { name: 'login' }).waitFor(WAIT);
      const sizes = await fresh.evaluate(() => (performance.getEntriesByType('navigation') as PerformanceResourceTiming[]).concat(performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => !e.name.includes('/api/')).map((e) => ({ name: e.name, transfer: e.transferSize, body: e.encodedBodySize, plain: e.decodedBodySize })));
      await c.close();
      return { codings, sizes };
    };
    const http = await weigh(base, {});
    // Chromium offers brotli only to secure contexts: HTTPS, or loopback as here (plain HTTP to a LAN address gets gzip).
    t.same(http.codings, ['br', 'br', 'br'], 'Chromium over HTTP to 127.0.0.1 (a secure context): brotli');
    const session = (await (await page.request.get(`${base}/api/v1/session`)).json()) as { csrfToken: string };
    const put = await page.request.put(`${base}/api/v1/management`, { data: { https: true }, headers: { 'x-csrf-token': session.csrfToken } });
    t.equal(put.status(), 200, 'management switched to HTTPS');
    const https = await weigh(base.replace('http:', 'https:'), { ignoreHTTPSErrors: true });
    t.same(https.codings, ['br', 'br', 'br'], 'Chromium over HTTPS: brotli');
    const sum = (list: typeof http.sizes, k: 'transfer' | 'body' | 'plain') => list.reduce((a, e) => a + e[k], 0);
    t.same(https.sizes.map((e) => new URL(e.name).pathname.replace(/[0-9a-f]{12}/, 'HASH')).sort(), ['/', '/app.HASH.css', '/app.HASH.js'], 'page, script and styles, nothing else (no favicon request)');
    t.ok(sum(https.sizes, 'body') < sum(https.sizes, 'plain') / 3, 'brotli: under a third of the plain size');
    t.comment(`a first visit transfers ${sum(https.sizes, 'transfer')} B over HTTPS (brotli bodies ${sum(https.sizes, 'body')} B, plain ${sum(https.sizes, 'plain')} B); ${sum(http.sizes, 'transfer')} B over HTTP on loopback; entries ${JSON.stringify(https.sizes)}`);
  });
});
