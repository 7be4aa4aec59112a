import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `ready` until it holds or `ms` pass; a bounded loop, as every lab wait must be. */
export async function waitUntil(what: string, ms: number, ready: () => boolean | Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await sleep(25);
  }
  throw new Error(`lab: ${what} not ready within ${ms} ms\n${detail()}`);
}
