// Issue 17, user editing in Chromium against `postern run`: a new password (the strength rules at the
// field, the two entries compared, the stored NT hash changed), a fixed address from the pool (outside
// every pool and another user's address refused at the field), enable/disable and remove each asked
// in a dialog that Cancel and Escape leave without a change. Screenshots in test/artifacts/screenshots/.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import { ntHashHex } from '../../firmware/crypto/user-credential.ts';
import { browserMissing, launchBrowser, screenshot } from '../helpers/browser.ts';
import { plainHttpBox } from '../helpers/plain-http-box.ts';
import { startPostern } from '../helpers/postern-process.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

// Used inside the page (this project's tsconfig has no DOM library).
declare const document: { documentElement: { scrollWidth: number } };

const skip = labSkip(browserMissing());
const ADMIN = 'Granite-Ladder-Orbit-42';
const WAIT = { timeout: 15_000 };

interface StoredUser { name: string; ntHash: string; enabled: boolean; staticIPv4?: string }

const fieldError = (form: Locator, input: string): Locator => form.locator('.field', { has: form.page().locator(input) }).locator('.error');

t.test('issue 17: users edited in the browser: password, fixed address, enable/disable and remove with confirmation', { skip }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'postern-users-'));
  await plainHttpBox(state); // this file talks plain HTTP (a fresh box serves HTTPS)
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const p = startPostern(t, tsEntry('firmware/main.ts'), ['run', '--state', state, '--management', '127.0.0.1:0', '--only', 'web']);
  const listening = await p.waitFor((r) => r['msg'] === 'web listening', 60_000);
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const setup = await fetch(`${base}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: ADMIN }) });
  t.equal(setup.status, 201, 'first-boot setup through the API');
  const stored = (): StoredUser[] => (JSON.parse(readFileSync(join(state, 'config', 'current.json'), 'utf8')) as { config: { users: StoredUser[] } }).config.users;
  const pool = (JSON.parse(readFileSync(join(state, 'config', 'current.json'), 'utf8')) as { config: { pools: Array<{ ipv4: string }> } }).config.pools[0]!.ipv4;

  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page: Page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#users`);
  await page.getByRole('form', { name: 'login' }).waitFor(WAIT);
  await page.fill('input[name=password]', ADMIN);
  await page.click('button[type=submit]');
  const region = page.getByRole('region', { name: 'users' });
  await region.waitFor(WAIT);
  const add = page.getByRole('form', { name: 'add a user' });
  for (const [name, password] of [['alice', 'Correct-Horse-Battery-7'], ['bob', 'Velvet-Compass-Harbor-3']] as const) {
    await add.locator('input[name=name]').fill(name);
    await add.locator('input[name=password]').fill(password);
    await add.locator('button[type=submit]').click();
    await region.locator(`tr[data-user=${name}]`).waitFor(WAIT);
  }
  const aliceHash = stored().find((u) => u.name === 'alice')!.ntHash;

  // Edit alice: the password's rules and the repeat, then a fixed address outside every pool.
  await region.locator('tr[data-user=alice] [data-action=edit]').click();
  const edit = page.getByRole('form', { name: 'edit user alice' });
  await edit.waitFor(WAIT);
  await edit.locator('input[name=password]').fill('password1234');
  await edit.locator('input[name=again]').fill('password1234');
  await edit.locator('button[type=submit]').click();
  await t.resolves(fieldError(edit, 'input[name=password]').filter({ hasText: 'too easy to guess' }).waitFor(WAIT), 'a guessable password refused at the password field');
  await edit.locator('input[name=password]').fill('Lantern-Meadow-Quartz-19');
  await edit.locator('input[name=again]').fill('Lantern-Meadow-Quartz-91');
  await edit.locator('button[type=submit]').click();
  await t.resolves(fieldError(edit, 'input[name=again]').filter({ hasText: 'differ' }).waitFor(WAIT), 'two different entries refused at the second');
  await edit.locator('input[name=again]').fill('Lantern-Meadow-Quartz-19');
  await edit.locator('input[name=staticIPv4]').fill('192.0.2.77');
  await edit.locator('button[type=submit]').click();
  await t.resolves(fieldError(edit, 'input[name=staticIPv4]').filter({ hasText: 'not inside any address pool' }).waitFor(WAIT), 'an address outside the pools refused at its field');
  t.equal(await edit.locator('.elsewhere').count(), 0, 'and nowhere else');
  t.equal(stored().find((u) => u.name === 'alice')!.ntHash, aliceHash, 'nothing saved by a refused change');
  await screenshot(page, 'users-01-edit-refused');
  // The suggested address: the pool's highest, which dynamic leases reach last.
  await edit.getByRole('button', { name: /^Use .* from / }).click();
  const fixed = await edit.locator('input[name=staticIPv4]').inputValue();
  t.match(fixed, /^\d+\.\d+\.\d+\.\d+$/, `suggested ${fixed} from the pool ${pool}`);
  await edit.locator('button[type=submit]').click();
  await t.resolves(region.getByRole('status').filter({ hasText: `alice saved: password changed, fixed address ${fixed}` }).waitFor(WAIT), 'saved, and said what changed');
  t.equal(await edit.count(), 0, 'the form closes');
  await t.resolves(region.locator('tr[data-user=alice] td', { hasText: fixed }).waitFor(WAIT), 'the fixed address in the list');
  const alice = stored().find((u) => u.name === 'alice')!;
  t.same([alice.ntHash, alice.staticIPv4, alice.enabled], [ntHashHex('Lantern-Meadow-Quartz-19'), fixed, true], 'stored: the new password\'s NT hash, the address, still enabled');

  // bob cannot take alice's address; an edit without a password keeps his.
  const bobHash = stored().find((u) => u.name === 'bob')!.ntHash;
  await region.locator('tr[data-user=bob] [data-action=edit]').click();
  const editBob = page.getByRole('form', { name: 'edit user bob' });
  await editBob.locator('input[name=staticIPv4]').fill(fixed);
  await editBob.locator('button[type=submit]').click();
  await t.resolves(fieldError(editBob, 'input[name=staticIPv4]').filter({ hasText: 'already given to users[0]' }).waitFor(WAIT), "alice's address refused for bob at the field");
  const bobSuggestion = await editBob.getByRole('button', { name: /^Use .* from / }).innerText();
  t.notMatch(bobSuggestion, fixed, 'the suggestion skips addresses already fixed');
  await editBob.getByRole('button', { name: 'Cancel' }).click();
  t.equal(stored().find((u) => u.name === 'bob')!.ntHash, bobHash, "bob's password untouched");

  // Disable: asked first; Cancel changes nothing, the dialog's button does.
  await region.getByRole('button', { name: 'Disable alice' }).click();
  const dialog = page.getByRole('dialog', { name: 'Disable alice?' });
  await dialog.waitFor(WAIT);
  t.match(await dialog.innerText(), /can no longer connect/, 'the dialog says what disabling does');
  await screenshot(page, 'users-02-confirm-disable');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached', ...WAIT });
  t.equal(stored().find((u) => u.name === 'alice')!.enabled, true, 'Cancel: still enabled');
  await region.getByRole('button', { name: 'Disable alice' }).click();
  await dialog.getByRole('button', { name: 'Disable alice' }).click();
  await region.getByRole('button', { name: 'Enable alice' }).waitFor(WAIT);
  t.same([stored().find((u) => u.name === 'alice')!.enabled, stored().find((u) => u.name === 'alice')!.ntHash], [false, ntHashHex('Lantern-Meadow-Quartz-19')], 'disabled, password kept');
  await region.getByRole('button', { name: 'Enable alice' }).click();
  await page.getByRole('dialog', { name: 'Enable alice?' }).getByRole('button', { name: 'Enable alice' }).click();
  await region.getByRole('button', { name: 'Disable alice' }).waitFor(WAIT);
  t.equal(stored().find((u) => u.name === 'alice')!.enabled, true, 'enabled again');

  // Remove: Escape is a no; the dialog's button removes.
  await region.getByRole('button', { name: 'Remove bob' }).click();
  const removal = page.getByRole('dialog', { name: 'Remove bob?' });
  await removal.waitFor(WAIT);
  await page.keyboard.press('Escape');
  await removal.waitFor({ state: 'detached', ...WAIT });
  t.ok(stored().some((u) => u.name === 'bob'), 'Escape: bob stays');
  await region.getByRole('button', { name: 'Remove bob' }).click();
  await removal.getByRole('button', { name: 'Remove bob' }).click();
  await region.locator('tr[data-user=bob]').waitFor({ state: 'detached', ...WAIT });
  t.same(stored().map((u) => u.name), ['alice'], 'bob removed, alice kept');
  await page.setViewportSize({ width: 375, height: 740 });
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'the list fits a phone-sized screen');
  await screenshot(page, 'users-03-phone');
  t.same(errors, [], 'no script errors');
});
