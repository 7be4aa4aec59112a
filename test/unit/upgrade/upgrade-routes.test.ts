// The upgrade routes through the real control API (session, CSRF, routing): pieces and offsets, limits,
// refusals with their codes, apply, and nothing for a caller without the admin session.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../../firmware/log/logger.ts';
import { MAX_PIECE_BYTES } from '../../../firmware/control/routes/upgrade-routes.ts';
import { encodeBundle } from '../../../firmware/upgrade/bundle-format.ts';
import { nodeSlotFs } from '../../../firmware/upgrade/slot-fs.ts';
import { SlotStore, slotLayoutIn } from '../../../firmware/upgrade/slot-store.ts';
import { UpgradeManager } from '../../../firmware/upgrade/upgrade-manager.ts';
import { controlHarness, HARNESS_ADMIN } from '../../helpers/control-harness.ts';
import { tempDir } from '../../helpers/tmp.ts';

const vendor = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const exe = Buffer.from('#!/bin/sh\necho v2\n'.repeat(5000));
const header = { version: '0.2.0', arch: 'x64' as const, boards: ['generic-x64'], minVersion: '0.0.0', commit: 'abc', builtAt: 'now' };
const good = encodeBundle(header, exe, vendor.privateKey);

async function setup(t: { teardown(fn: () => void): void }, maxPayloadBytes = 1 << 20) {
  const h = await controlHarness(t);
  const dir = tempDir(t, 'postern-upgrade-api-');
  writeFileSync(join(dir, 'a'), '#!/bin/sh\n', { mode: 0o755 });
  const manager = new UpgradeManager({
    slots: new SlotStore(slotLayoutIn(dir), nodeSlotFs), key: { key: vendor.publicKey, dev: false }, arch: 'x64', board: 'generic-x64', version: '0.1.0',
    running: { slot: 'a', trial: false }, maxPayloadBytes, trialSeconds: 60, logger: createLogger({ sink: () => {} }), now: () => 1,
  });
  let bootedAgain = 0;
  h.api.upgrades = { manager, bootAgain: () => void bootedAgain++ };
  // The harness speaks JSON; pieces are raw bytes, so the same API is served here too, logged in anew.
  const server = createServer((req, res) => void h.api.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const login = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: HARNESS_ADMIN }) });
  const session = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '', 'x-csrf-token': ((await login.json()) as { csrfToken: string }).csrfToken };
  const put = async (bytes: Buffer, query: string, headers: Record<string, string> = session) => {
    const res = await fetch(`${base}/upgrade/bundle?${query}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: bytes });
    return { status: res.status, json: (await res.json()) as any };
  };
  return { h, dir, manager, put, base, booted: () => bootedAgain };
}

t.test('pieces in order stage the bundle; apply answers 202 and then hands over', async (t) => {
  const { h, dir, put, booted } = await setup(t);
  const first = await put(good.subarray(0, 40_000), `offset=0&total=${good.length}`);
  t.same(first.json, { done: false, received: 40_000 });
  t.equal((await put(good.subarray(0, 10), `offset=50000&total=${good.length}`)).status, 409, 'a piece at the wrong offset');
  const again = await put(good.subarray(0, 40_000), `offset=0&total=${good.length}`);
  t.equal(again.json.received, 40_000, 'offset 0 starts over');
  const last = await put(good.subarray(40_000), `offset=40000&total=${good.length}`);
  t.same([last.status, last.json.done, last.json.staged?.version], [200, true, '0.2.0']);
  t.ok(existsSync(join(dir, 'b')));
  const status = await h.call('GET', '/api/v1/upgrade');
  t.same([status.json.available, status.json.staged?.version, status.json.devKey], [true, '0.2.0', false]);
  const applied = await h.call('POST', '/api/v1/upgrade/apply');
  t.same([applied.status, applied.json.slot, applied.json.rebooting], [202, 'b', true]);
  await new Promise((r) => setTimeout(r, 400));
  t.equal(booted(), 1, 'handed over to the launcher after the answer');
  t.equal((await h.call('POST', '/api/v1/upgrade/apply')).status, 409, 'a second apply: a trial is pending');
});

t.test('refusals: another key (422 with its code), too large a piece, bad offsets; nothing staged', async (t) => {
  const { h, dir, put } = await setup(t);
  const foreign = encodeBundle(header, exe, stranger.privateKey);
  const refused = await put(foreign, `offset=0&total=${foreign.length}`);
  t.same([refused.status, refused.json.error?.code], [422, 'POSTERN_ERR_UPGRADE_SIGNATURE']);
  const big = await put(Buffer.alloc(MAX_PIECE_BYTES + 1), `offset=0&total=${MAX_PIECE_BYTES + 1}`);
  t.equal(big.status, 422, 'announced beyond what the box takes');
  t.equal(big.json.error?.code, 'POSTERN_ERR_UPGRADE_TOO_LARGE');
  t.equal((await put(good.subarray(0, 10), `offset=-1&total=${good.length}`)).status, 400);
  t.equal((await put(good.subarray(0, 10), 'offset=0')).status, 400, 'total is required');
  t.equal((await put(good.subarray(0, 100), `offset=100&total=${good.length}`)).status, 409, 'no upload in progress');
  t.notOk(existsSync(join(dir, 'b')));
  t.equal((await h.call('GET', '/api/v1/upgrade')).json.staged, null);
});

t.test('a piece over 8 MiB is cut off (413) and the upload dropped', async (t) => {
  const { put, dir, h } = await setup(t, 32 << 20);
  const large = encodeBundle(header, Buffer.alloc(MAX_PIECE_BYTES + 1024, 0x23), vendor.privateKey);
  // The answer goes out while the client still sends: it reads a 413, or (undici) a reset socket.
  const r = await put(large, `offset=0&total=${large.length}`).catch((error: Error) => ({ status: 0, json: { error: { code: String((error.cause as { code?: string } | undefined)?.code) } } }));
  t.ok((r.status === 413 && r.json.error?.code === 'POSTERN_ERR_TOO_LARGE') || r.json.error?.code === 'UND_ERR_SOCKET', `refused: ${r.status} ${r.json.error?.code}`);
  t.notOk(existsSync(join(dir, 'b.new')), 'the temporary file is gone');
  t.equal((await h.call('GET', '/api/v1/upgrade')).json.receiving, null);
});

t.test('admin only: without the session nothing is read, staged or applied', async (t) => {
  const { put, base, dir } = await setup(t);
  t.equal((await put(good, `offset=0&total=${good.length}`, {})).status, 401);
  t.equal((await fetch(`${base}/upgrade`)).status, 401);
  t.equal((await fetch(`${base}/upgrade/apply`, { method: 'POST' })).status, 401);
  t.notOk(existsSync(join(dir, 'b')));
});
