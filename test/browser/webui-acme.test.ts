// The ACME form on the Certificates page (issue 16) in Chromium against `postern run` (web and acme
// subsystems only): a plain-http directory refused at its field, then a saved configuration whose CA
// cannot be reached, whose real failure shows as the last error with the next attempt.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { browserMissing, firstBootAndLogIn, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(browserMissing());
const ADMIN = 'Field-Tech-Pass-77';

/** A loopback port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

t.test('ACME: settings with errors at their fields, saved, and the failed order shown with its retry', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-ui-acme-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web,acme']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await firstBootAndLogIn(page, base, ADMIN);

  await page.click('nav >> text=Certificates');
  const form = page.locator('form[aria-label="public certificate (ACME)"]');
  await form.waitFor();
  const status = form.getByTestId('acme-status');
  t.match(await status.innerText(), /Certificate\s+none yet[\s\S]*Next attempt\s+off/, 'off at first: no certificate, nothing scheduled');
  t.equal(await form.locator('input[name=acme-directory]').inputValue(), 'https://acme-v02.api.letsencrypt.org/directory', "Let's Encrypt offered");

  // Plain http: refused by the configuration's own rule, shown at the field.
  await form.locator('input[name=acme-enabled]').check();
  await form.locator('input[name=acme-directory]').fill('http://acme.example/directory');
  await form.getByRole('button', { name: 'Save' }).click();
  const directoryField = form.locator('label', { has: page.locator('input[name=acme-directory]') });
  await directoryField.locator('.error').waitFor({ timeout: 10_000 });
  t.match(await directoryField.innerText(), /https/i, 'the error sits at the Directory URL field');
  await screenshot(page, 'acme-01-field-error');

  // A CA that cannot be reached: saved, the subsystem orders, the failure is reported.
  const port = await closedPort();
  await form.locator('input[name=acme-directory]').fill(`https://127.0.0.1:${port}/dir`);
  await form.locator('input[name=acme-email]').fill('ops@example.com');
  await form.locator('select[name=acme-challenge]').selectOption('tls-alpn-01');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('ACME saved').waitFor({ timeout: 10_000 });
  t.equal(await directoryField.locator('.error').count(), 0, 'the field error is gone');
  await p.waitFor((r) => r['msg'] === 'ACME order failed', 20_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${p.records.filter((r) => /acme|supervisor|config/i.test(JSON.stringify(r))).map((r) => JSON.stringify(r)).join('\n')}`);
  });
  await page.reload();
  await page.click('nav >> text=Certificates');
  await form.waitFor();
  t.equal(await form.locator('input[name=acme-directory]').inputValue(), `https://127.0.0.1:${port}/dir`, 'saved: the form shows it again');
  t.equal(await form.locator('input[name=acme-email]').inputValue(), 'ops@example.com');
  t.equal(await form.locator('select[name=acme-challenge]').inputValue(), 'tls-alpn-01');
  t.ok(await form.locator('input[name=acme-enabled]').isChecked());
  const error = await form.getByTestId('acme-error').innerText();
  t.match(error, /ECONNREFUSED|connect/i, `the last error is the real one: ${error}`);
  const text = await status.innerText();
  const next = /Next attempt\s+(\d{4}-\d\d-\d\d \d\d:\d\d)/.exec(text)?.[1];
  t.ok(next && Date.parse(`${next.replace(' ', 'T')}Z`) > Date.now(), `the retry is scheduled ahead (${String(next)})`);
  await screenshot(page, 'acme-02-failure');
  t.same(errors, [], 'no script errors');
});
