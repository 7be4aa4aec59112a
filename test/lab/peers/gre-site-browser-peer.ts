// A browser inside a lab host on Postern's Sites page (issue 25), logged in. stdin lines
// `{"call": …, "args": […]}`, answered `ok <json>`:
//   addGre(form, expect) fills the Add a site form as GRE and submits, then waits for the outcome
//                       expected ('added' or 'refused'); → { message, errors: { field label: text } }
//   row(site)           the site's row as shown now, or null: { protocol, summary, state, drops }
//   trustCa(name, pem)  adds a trusted CA on the Certificates page and comes back to Sites;
//                       → { message, row: the CA's row text }
//   screenshot(name)
import { createInterface } from 'node:readline';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../../helpers/browser.ts';

interface GreForm {
  name: string; remote: string; remoteNets: string; address: string; address6?: string; key?: string; keepalive?: string; checksum?: boolean; sequence?: boolean;
  /** GRE over IPsec: its PSK or certificates (the peer's name as remote ID), and whether this side dials. */
  ipsec?: { psk?: string; certificate?: { remoteId: string; localId?: string }; dials: boolean };
}

const config = JSON.parse(process.argv[2] ?? '{}') as { base: string; password: string };
const browser = await launchBrowser();
const page: Page = await (await browser.newContext()).newPage();
const pageErrors: string[] = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
await page.goto(config.base);
await page.getByRole('form', { name: 'login' }).waitFor({ timeout: 30_000 });
await page.fill('input[name=password]', config.password);
await page.click('button[type=submit]');
await page.getByRole('region', { name: 'dashboard' }).waitFor({ timeout: 30_000 });
await page.click('nav >> text=Sites');
const form = page.getByRole('form', { name: 'add a site' });
await form.waitFor({ timeout: 30_000 });
console.log('ready');

async function addGre(f: GreForm, expect: 'added' | 'refused'): Promise<{ message: string; errors: Record<string, string> }> {
  await form.locator('select[name=site-protocol]').selectOption('gre');
  await form.locator('input[name=site-name]').fill(f.name);
  await form.locator('input[name=site-remote]').fill(f.remote);
  await form.locator('input[name=site-remote-nets]').fill(f.remoteNets);
  await form.locator('input[name=site-gre-address]').fill(f.address);
  await form.locator('input[name=site-gre-address6]').fill(f.address6 ?? '');
  await form.locator('input[name=site-gre-key]').fill(f.key ?? '');
  await form.locator('input[name=site-gre-keepalive]').fill(f.keepalive ?? '');
  await form.locator('input[name=site-gre-checksum]').setChecked(f.checksum === true);
  await form.locator('input[name=site-gre-sequence]').setChecked(f.sequence === true);
  await form.locator('input[name=site-gre-ipsec]').setChecked(f.ipsec !== undefined);
  if (f.ipsec) {
    await form.locator('select[name=site-auth]').selectOption(f.ipsec.certificate ? 'certificate' : 'psk');
    if (f.ipsec.psk !== undefined) await form.locator('input[name=site-psk]').fill(f.ipsec.psk);
    await form.locator('input[name=site-remote-id]').fill(f.ipsec.certificate?.remoteId ?? '');
    await form.locator('input[name=site-local-id]').fill(f.ipsec.certificate?.localId ?? '');
    await form.locator('input[name=site-gre-dials]').setChecked(f.ipsec.dials);
  }
  await form.locator('button[type=submit]').click();
  const message = page.locator(expect === 'added' ? 'section[aria-label=sites] p.message.ok' : 'section[aria-label=sites] p.message.error');
  await message.waitFor({ timeout: 20_000 });
  // The message may still be the previous refusal's; the field errors are cleared at submit, so the
  // ones that appear are this answer's (reading at once found none on a loaded machine).
  if (expect === 'refused') await form.locator('.field.invalid').first().waitFor({ timeout: 20_000 }).catch(() => undefined);
  const errors: Record<string, string> = {};
  for (const field of await form.locator('.field.invalid').all()) errors[await field.locator('span').first().innerText()] = await field.locator('.error').innerText();
  return { message: await message.innerText(), errors };
}

async function trustCa(name: string, pem: string): Promise<{ message: string; row: string }> {
  await page.click('nav >> text=Certificates');
  const card = page.getByRole('form', { name: 'trusted CAs' });
  await card.waitFor({ timeout: 30_000 });
  await card.locator('input[name=trusted-ca-name]').fill(name);
  await card.locator('textarea[name=trusted-ca-pem]').fill(pem);
  await card.locator('select[name=trusted-ca-revocation]').selectOption('off');
  await card.locator('button[type=submit]').click();
  const message = card.locator('p.message.ok');
  await message.waitFor({ timeout: 20_000 });
  const caRow = card.locator(`tr[data-trusted-ca="${name}"]`);
  await caRow.waitFor({ timeout: 20_000 });
  const result = { message: await message.innerText(), row: await caRow.innerText() };
  await page.click('nav >> text=Sites');
  await form.waitFor({ timeout: 30_000 });
  return result;
}

async function row(site: string): Promise<Record<string, string> | null> {
  const r = page.locator(`tr[data-site="${site}"]`);
  if ((await r.count()) === 0) return null;
  const text = async (selector: string) => ((await r.locator(selector).count()) ? await r.locator(selector).first().innerText() : '');
  return { protocol: await text('small[data-protocol]'), summary: await text('[data-gre-summary]'), state: await text('[data-label=state] .state'), drops: await text('[data-gre-drops]'), reason: await text('[data-reason]') };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
  const run = async (): Promise<unknown> => {
    if (call === 'addGre') return addGre(args[0] as GreForm, args[1] === 'refused' ? 'refused' : 'added');
    if (call === 'row') return row(String(args[0]));
    if (call === 'trustCa') return trustCa(String(args[0]), String(args[1]));
    if (call === 'screenshot') return screenshot(page, String(args[0]));
    if (call === 'pageErrors') return pageErrors;
    throw new Error(`unknown call ${call}`);
  };
  run().then((r) => console.log(`ok ${JSON.stringify(r)}`), (error: unknown) => console.log(`error ${(error as Error).message.split('\n')[0]}`));
});
process.on('SIGTERM', () => void browser.close().finally(() => process.exit(0)));
