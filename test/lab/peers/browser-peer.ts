// A browser inside a lab host: Chromium (playwright-core) logged in to Postern's web UI there.
// stdin: `wait-session USER` (answers `session ID` once the Sessions page lists the user),
// `disconnect USER` (clicks Disconnect, answers `gone` once the row has left), `screenshot NAME`.
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
    if (command === 'screenshot') return `saved ${await screenshot(page, arg)}`;
    return `error unknown command ${command}`;
  };
  run().then((answer) => console.log(answer), (error: unknown) => console.log(`error ${(error as Error).message.split('\n')[0]}`));
});
process.on('SIGTERM', () => void browser.close().finally(() => process.exit(0)));
