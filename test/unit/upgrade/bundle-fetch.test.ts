import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../../firmware/log/logger.ts';
import { fetchAndApply } from '../../../firmware/upgrade/bundle-fetch.ts';
import { encodeBundle } from '../../../firmware/upgrade/bundle-format.ts';
import { nodeSlotFs } from '../../../firmware/upgrade/slot-fs.ts';
import { SlotStore, slotLayoutIn } from '../../../firmware/upgrade/slot-store.ts';
import { UpgradeManager } from '../../../firmware/upgrade/upgrade-manager.ts';
import { tempDir } from '../../helpers/tmp.ts';

const vendor = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const exe = Buffer.from('#!/bin/sh\necho fetched\n'.repeat(3000));
const header = { version: '0.3.0', arch: 'x64' as const, boards: ['generic-x64'], minVersion: '0.0.0', commit: 'f00d', builtAt: 'now' };
const good = encodeBundle(header, exe, vendor.privateKey);
const foreign = encodeBundle(header, exe, stranger.privateKey);

// A loopback server: /good, /foreign, /slow (never finishes), /endless (no length, never ends).
const server = createServer((req, res: ServerResponse) => {
  if (req.url === '/good') return void res.end(good);
  if (req.url === '/foreign') return void res.end(foreign);
  if (req.url === '/slow') {
    res.writeHead(200, { 'content-length': String(good.length) });
    return void res.write(good.subarray(0, 100));
  }
  if (req.url === '/endless') {
    res.writeHead(200);
    const timer = setInterval(() => res.write(good.subarray(0, 16 * 1024)), 1);
    return void res.on('close', () => clearInterval(timer));
  }
  res.writeHead(404).end();
});
t.before(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

function box(t: { teardown(fn: () => void): void }) {
  const dir = tempDir(t, 'postern-fetch-');
  writeFileSync(join(dir, 'a'), '#!/bin/sh\n', { mode: 0o755 });
  const manager = new UpgradeManager({
    slots: new SlotStore(slotLayoutIn(dir), nodeSlotFs), key: { key: vendor.publicKey, dev: true }, arch: 'x64', board: 'generic-x64', version: '0.1.0',
    running: { slot: 'a', trial: false }, maxPayloadBytes: 1 << 20, trialSeconds: 60, logger: createLogger({ sink: () => {} }), now: () => 1,
  });
  let bootedAgain = 0;
  return { dir, manager, hooks: { manager, bootAgain: () => void bootedAgain++ }, booted: () => bootedAgain };
}

t.test('a signed bundle is fetched, staged, applied, and the launcher takes over after the reply', async (t) => {
  const b = box(t);
  t.same(await fetchAndApply(b.hooks, { url: url('/good') }, 5), { version: '0.3.0' });
  t.ok(readFileSync(join(b.dir, 'b')).equals(exe));
  t.match(readFileSync(join(b.dir, 'boot.state'), 'utf8'), /trial=b/);
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(b.booted(), 1);
});

t.test('refused: another key, too large, too slow, endless, bad URLs; nothing left behind', async (t) => {
  const b = box(t);
  await t.rejects(fetchAndApply(b.hooks, { url: url('/foreign') }, 5), /POSTERN_ERR_UPGRADE_SIGNATURE/);
  await t.rejects(fetchAndApply(b.hooks, { url: url('/good') }, 5, { timeoutMs: 5000, maxBytes: 1000 }), /POSTERN_ERR_UPGRADE_TOO_LARGE/);
  await t.rejects(fetchAndApply(b.hooks, { url: url('/slow') }, 5, { timeoutMs: 300, maxBytes: 1 << 22 }), /not done within/);
  await t.rejects(fetchAndApply(b.hooks, { url: url('/endless') }, 5, { timeoutMs: 5000, maxBytes: 200_000 }), /more than 200000 bytes|TRAILING|TOO_LARGE/);
  await t.rejects(fetchAndApply(b.hooks, { url: 'file:///etc/passwd' }, 5), /only http and https/);
  await t.rejects(fetchAndApply(b.hooks, { nope: 1 }, 5), /wants/);
  await t.rejects(fetchAndApply(b.hooks, { url: url('/missing') }, 5), /answered 404/);
  t.notOk(existsSync(join(b.dir, 'b')), 'slot b untouched');
  t.notOk(existsSync(join(b.dir, 'b.new')), 'no temporary file');
  t.equal(b.manager.status().receiving, null);
  t.equal(b.booted(), 0);
});
