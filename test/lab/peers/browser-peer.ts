// A browser inside a lab host: Chromium (playwright-core) logged in to Postern's web UI there.
// stdin: `wait-session USER` (answers `session ID` once the Sessions page lists the user),
// `disconnect USER` (clicks Disconnect, answers `gone` once the row has left), `screenshot NAME`,
// `session-protocol USER` (the row's protocol, then its badge's text and title, or `no badge`).
// The RADIUS page (issue 21): `session-auth USER` (the row's "Authenticated by" text), `api-get PATH`
// (the API's raw answer as the page gets it), `radius-row NAME` (JSON of the server's row once its
// state is alive or dead), `radius-test NAME [USER PASSWORD]` (the Test's result lines),
// `radius-add server|client NAME ADDRESS SECRET` (`added`, or `refused <field>: <error>`),
// `radius-remove NAME` (`gone`), `das-enable` (saves the switch, answers the state shown),
// `radius-add-radsec NAME ADDRESS PORT CA-FILE` (a RadSec server: `added` or `refused <field>: <error>`),
// `radius-radsec NAME` (the row's RadSec state and text: `down TLS not connected: …`).
// The connection doctor (issue 17): `problems N` opens Connection problems, waits for N entries and
// answers them as JSON ([{ cause, text }], newest first, each entry's text as the page shows it).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { launchBrowser, screenshot } from '../../helpers/browser.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { base: string; password: string };
const browser = await launchBrowser();
const page = await (await browser.newContext()).newPage();
await page.goto(config.base);
await page.getByRole('form', { name: 'login' }).waitFor({ timeout: 20_000 });
await page.fill('input[name=password]', config.password);
await page.click('button[type=submit]');
await page.getByRole('region', { name: 'dashboard' }).waitFor();
await page.goto(`${config.base}/#sessions`);
await page.getByRole('region', { name: 'sessions' }).waitFor();
console.log('ready');

const row = (user: string) => page.locator('tr[data-session]', { hasText: user });
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg = ''] = line.trim().split(/\s+/);
  const run = async (): Promise<string> => {
    if (command === 'wait-session') {
      await row(arg).waitFor({ timeout: 30_000 });
      return `session ${await row(arg).getAttribute('data-session')}`;
    }
    if (command === 'disconnect') {
      await row(arg).getByRole('button', { name: 'Disconnect' }).click();
      // Asked in the page's own dialog, whose action names the user.
      await page.getByRole('dialog', { name: `Disconnect ${arg}?` }).getByRole('button', { name: `Disconnect ${arg}` }).click();
      await row(arg).waitFor({ state: 'detached', timeout: 30_000 });
      return 'gone';
    }
    if (command === 'session-protocol') {
      const cell = row(arg).locator('td').nth(1);
      const badge = cell.locator('.badge');
      const protocol = await cell.evaluate((td) => td.childNodes[0]?.textContent ?? '');
      return (await badge.count()) > 0 ? `${protocol} | ${await badge.innerText()} | ${await badge.getAttribute('title')}` : `${protocol} | no badge`;
    }
    if (command === 'screenshot') return `saved ${await screenshot(page, arg)}`;
    if (command === 'problems') {
      await page.goto(`${config.base}/#problems`);
      const entries = page.getByRole('region', { name: 'connection problems' }).locator('li.problem');
      await entries.nth(Number(arg) - 1).waitFor({ timeout: 15_000 });
      return JSON.stringify(await entries.evaluateAll((lis) => lis.map((li) => ({ cause: li.getAttribute('data-cause'), text: (li as unknown as { innerText: string }).innerText }))));
    }
    if (command?.startsWith('radius') || command?.startsWith('das') || command === 'session-auth' || command === 'api-get') return radius(command, line.trim().split(/\s+/).slice(1));
    return `error unknown command ${command}`;
  };
  run().then((answer) => console.log(answer), (error: unknown) => console.log(`error ${(error as Error).message.split('\n')[0]}`));
});
async function radius(command: string, args: string[]): Promise<string> {
  const [a = '', b = '', c = '', d = ''] = args;
  if (command === 'session-auth') return (await row(a).locator('td[data-auth]').textContent()) ?? '';
  if (command === 'api-get') return page.evaluate(async (path) => (await fetch(`/api/v1${path}`)).text(), a);
  const region = page.getByRole('region', { name: 'radius' });
  if (!page.url().endsWith('#radius')) {
    await page.goto(`${config.base}/#radius`);
    await region.getByRole('heading', { name: 'RADIUS servers' }).waitFor();
  }
  const server = region.locator(`tr[data-server="${a}"]`);
  if (command === 'radius-row') {
    await server.locator('[data-state=alive], [data-state=dead]').waitFor({ timeout: 20_000 });
    const cells = Object.fromEntries(await server.locator('[data-counter]').evaluateAll((tds) => tds.map((td) => [td.getAttribute('data-counter'), Number(td.textContent)])));
    return JSON.stringify({ state: await server.locator('[data-state]').getAttribute('data-state'), ...cells, backlog: Number(await region.locator('[data-backlog]').textContent()) });
  }
  if (command === 'radius-test') {
    await server.getByRole('button', { name: `Test ${a}` }).click();
    const form = page.getByRole('form', { name: `test ${a}` });
    if (b) {
      await form.locator('input[name=user]').fill(b);
      await form.locator('input[name=password]').fill(c);
    }
    await form.getByRole('button', { name: 'Run the test' }).click();
    const result = form.getByRole('list', { name: 'test result' });
    await result.waitFor({ timeout: 15_000 });
    const text = (await result.innerText()).replace(/\s*\n\s*/g, ' | ');
    await form.getByRole('button', { name: 'Close' }).click();
    return text;
  }
  if (command === 'radius-add') {
    const kind = a === 'server' ? 'server' : 'DAS client';
    await page.getByRole('button', { name: `Add a ${kind}` }).click();
    const form = page.getByRole('form', { name: `add a ${kind}` });
    await form.locator('input[name=name]').fill(b);
    await form.locator('input[name=address]').fill(c);
    await form.locator('input[name=secret]').fill(d);
    await form.getByRole('button', { name: 'Add' }).click();
    const rowOf = a === 'server' ? region.locator(`tr[data-server="${b}"]`) : region.locator(`tr[data-das-client="${b}"]`);
    const error = form.locator('.field.invalid');
    await rowOf.or(error.first()).first().waitFor({ timeout: 15_000 });
    if (await rowOf.count()) return 'added';
    const field = await error.first().locator('span').textContent();
    const text = await error.first().locator('small.error').textContent();
    await form.getByRole('button', { name: 'Cancel' }).click();
    return `refused ${field}: ${text}`;
  }
  if (command === 'radius-add-radsec') {
    await page.getByRole('button', { name: 'Add a server' }).click();
    const form = page.getByRole('form', { name: 'add a server' });
    await form.locator('input[name=name]').fill(a);
    await form.locator('input[name=address]').fill(b);
    await form.locator('input[name=radsec]').check();
    await form.locator('input[name=radsecPort]').fill(c);
    await form.locator('textarea[name=radsecCa]').fill(readFileSync(d, 'utf8'));
    await form.getByRole('button', { name: 'Add' }).click();
    const rowOf = region.locator(`tr[data-server="${a}"]`);
    const error = form.locator('.field.invalid');
    await rowOf.or(error.first()).first().waitFor({ timeout: 15_000 });
    if (await rowOf.count()) return 'added';
    return `refused ${await error.first().locator('span').textContent()}: ${await error.first().locator('small.error').textContent()}`;
  }
  if (command === 'radius-radsec') {
    const state = server.locator('[data-radsec]');
    await state.waitFor({ timeout: 15_000 });
    return `${await state.getAttribute('data-radsec')} ${await state.textContent()}`;
  }
  if (command === 'radius-remove') {
    await region.getByRole('button', { name: `Remove ${a}` }).click();
    await page.getByRole('dialog', { name: `Remove ${a}?` }).getByRole('button', { name: `Remove ${a}` }).click();
    await region.locator(`tr[data-server="${a}"], tr[data-das-client="${a}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    return 'gone';
  }
  if (command === 'das-enable') {
    const form = page.getByRole('form', { name: 'dynamic authorization' });
    await form.locator('input[name=enabled]').check();
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('[data-das-state]', { hasText: 'running' }).waitFor({ timeout: 15_000 });
    return (await form.locator('[data-das-state]').textContent()) ?? '';
  }
  return `error unknown command ${command}`;
}

process.on('SIGTERM', () => void browser.close().finally(() => process.exit(0)));
