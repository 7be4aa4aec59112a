import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { encodeBundle, RefusalCode } from '../../../firmware/upgrade/bundle-format.ts';
import { nodeSlotFs } from '../../../firmware/upgrade/slot-fs.ts';
import { encodeBootState, initialBootState } from '../../../firmware/upgrade/slot-state.ts';
import { SlotStore, slotLayoutIn } from '../../../firmware/upgrade/slot-store.ts';
import { prepareUpgrades } from '../../../firmware/upgrade/upgrade-boot.ts';
import { UpgradeManager, type RunningSlot } from '../../../firmware/upgrade/upgrade-manager.ts';
import { tempDir } from '../../helpers/tmp.ts';

const vendor = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const quiet = createLogger({ sink: () => {} });
const exe = Buffer.from('#!/bin/sh\necho new\n'.repeat(1000));
const header = { version: '0.2.0', arch: 'x64' as const, boards: ['generic-x64'], minVersion: '0.1.0', commit: 'c0ffee1', builtAt: 'now' };

function manager(t: { teardown(fn: () => void): void }, running: RunningSlot = { slot: 'a', trial: false }): { m: UpgradeManager; dir: string; slots: SlotStore } {
  const dir = tempDir(t, 'postern-upgrade-');
  const slots = new SlotStore(slotLayoutIn(dir), nodeSlotFs);
  writeFileSync(join(dir, 'a'), '#!/bin/sh\necho old\n', { mode: 0o755 });
  const m = new UpgradeManager({
    slots, key: { key: vendor.publicKey, dev: true }, arch: 'x64', board: 'generic-x64', version: '0.1.0', running,
    maxPayloadBytes: 1 << 20, trialSeconds: 30, logger: quiet, now: () => 1000,
  });
  return { m, dir, slots };
}

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

t.test('a good bundle is staged in the inactive slot; apply marks it for a trial boot', async (t) => {
  const { m, dir } = manager(t);
  const r = await m.receive(pieces(encodeBundle(header, exe, vendor.privateKey), 1000));
  t.ok(r.ok);
  t.ok(readFileSync(join(dir, 'b')).equals(exe), 'slot b holds the executable');
  t.same(readdirSync(dir).sort(), ['a', 'b', 'boot.state']);
  t.equal(m.status().staged?.version, '0.2.0');
  const applied = m.apply(4);
  t.same(applied, { slot: 'b', version: '0.2.0' });
  t.match(readFileSync(join(dir, 'boot.state'), 'utf8'), /trial=b\n[^]*config_revision=4\n/);
  t.throws(() => m.apply(4), /no verified bundle|waiting for its trial/);
});

t.test('refused bundles change nothing: another key, wrong board, truncated', async (t) => {
  const { m, dir } = manager(t);
  const cases: Array<[Buffer, string]> = [
    [encodeBundle(header, exe, stranger.privateKey), RefusalCode.badSignature],
    [encodeBundle({ ...header, boards: ['nanopi-r5s'] }, exe, vendor.privateKey), RefusalCode.wrongBoard],
    [encodeBundle(header, exe, vendor.privateKey).subarray(0, 5000), RefusalCode.truncated],
    [encodeBundle({ ...header, version: '0.0.9', minVersion: '0.0.1' }, exe, vendor.privateKey), RefusalCode.downgrade],
  ];
  writeFileSync(join(dir, 'boot.state'), encodeBootState({ ...initialBootState(undefined), floor: '0.1.0' }));
  const before = readFileSync(join(dir, 'boot.state'));
  for (const [bytes, code] of cases) {
    const r = await m.receive(pieces(bytes, 700));
    t.equal(r.ok ? 'accepted' : r.refusal.code, code);
    t.same(readdirSync(dir).sort(), ['a', 'boot.state'], `${code}: no file left`);
    t.ok(readFileSync(join(dir, 'boot.state')).equals(before), `${code}: record unchanged`);
  }
  t.equal(m.status().staged, null);
});

t.test('not started by the launcher, or on trial: upgrades are refused with the reason', async (t) => {
  const { m } = manager(t, { slot: undefined, trial: false });
  t.match(m.status().why, /postern-launcher/);
  t.throws(() => m.begin(10), /postern-launcher/);
});

t.test('a trial commits once healthy, or fails after its time and hands back to the launcher', async (t) => {
  const good = manager(t, { slot: 'b', trial: true });
  t.ok((await good.m.receive(pieces(encodeBundle(header, exe, vendor.privateKey), 5000))).ok);
  good.slots.apply(3, 1);
  let polls = 0;
  await new Promise<void>((resolve) => {
    good.m.watchTrial(async () => ++polls >= 2, () => t.fail('no boot again for a healthy trial'), 20);
    setTimeout(resolve, 200);
  });
  t.equal(good.slots.read().active, 'b', 'committed');
  t.equal(good.slots.read().floor, '0.1.0', 'the floor of the committed bundle');
  t.equal(good.m.status().running.trial, false);

  const bad = manager(t, { slot: 'b', trial: true });
  await bad.m.receive(pieces(encodeBundle(header, exe, vendor.privateKey), 5000));
  bad.slots.apply(3, 0);
  const handedBack = await new Promise<boolean>((resolve) => {
    bad.m.watchTrial(async () => false, () => resolve(true), 10);
    setTimeout(() => resolve(false), 2000);
  });
  t.ok(handedBack);
  t.same(bad.slots.read().lastFailure?.reason, 'unhealthy');
  t.equal(bad.slots.read().active, 'a');
});

t.test('after a rollback the configuration of before the upgrade is restored, and the failure announced once', async (t) => {
  const dir = tempDir(t, 'postern-rollback-');
  const slotsDir = join(dir, 'slots');
  mkdirSync(slotsDir);
  const store = await ConfigStore.open(join(dir, 'state', 'config'), { logger: quiet });
  const before = defaultConfig();
  before.system.hostname = 'before-upgrade';
  const { revision } = await store.write(before, { author: 'test' });
  const after = structuredClone(before);
  after.system.hostname = 'written-by-the-new-version';
  await store.write(after, { author: 'new version' });
  const slots = new SlotStore(slotLayoutIn(slotsDir), nodeSlotFs);
  slots.write({ ...initialBootState(undefined), configRevision: revision, lastFailure: { slot: 'b', version: '0.2.0', reason: 'not-committed', at: 5, handled: false } });
  const env = { POSTERN_SLOT: 'a', POSTERN_TRIAL: '0', POSTERN_SLOT_A: join(slotsDir, 'a'), POSTERN_SLOT_B: join(slotsDir, 'b'), POSTERN_BOOT_STATE: join(slotsDir, 'boot.state') };
  const prepared = await prepareUpgrades({ stateDir: join(dir, 'state'), logger: quiet, env });
  t.equal(prepared.rolledBack?.version, '0.2.0');
  const reopened = await ConfigStore.open(join(dir, 'state', 'config'), { logger: quiet });
  t.equal(reopened.current().config.system.hostname, 'before-upgrade');
  t.match(reopened.current().comment, /upgrade to 0\.2\.0 failed/);
  t.equal(slots.read().lastFailure?.handled, true);
  const again = await prepareUpgrades({ stateDir: join(dir, 'state'), logger: quiet, env });
  t.equal(again.rolledBack, undefined, 'only once');
  t.ok(existsSync(join(slotsDir, 'boot.state')));
});

t.test('the configuration kept at apply wins over history the new version rewrote in its own format', async (t) => {
  const dir = tempDir(t, 'postern-snapshot-');
  const slotsDir = join(dir, 'slots');
  mkdirSync(slotsDir);
  const stateDir = join(dir, 'state');
  const store = await ConfigStore.open(join(stateDir, 'config'), { logger: quiet });
  const before = defaultConfig();
  before.system.hostname = 'kept-at-apply';
  const { revision } = await store.write(before, { author: 'test' });
  const env = { POSTERN_SLOT: 'a', POSTERN_TRIAL: '0', POSTERN_SLOT_A: join(slotsDir, 'a'), POSTERN_SLOT_B: join(slotsDir, 'b'), POSTERN_BOOT_STATE: join(slotsDir, 'boot.state') };
  writeFileSync(join(slotsDir, 'a'), '#!/bin/sh\n', { mode: 0o755 });
  // Apply through the manager the service builds: it snapshots current.json first.
  const { createUpgradeManager } = await import('../../../firmware/upgrade/upgrade-setup.ts');
  const slots = new SlotStore(slotLayoutIn(slotsDir), nodeSlotFs);
  slots.write({ ...initialBootState(undefined), slots: { a: undefined, b: { version: '0.2.0', sha256: 'a'.repeat(64), minVersion: '0.0.0' } } });
  const m = createUpgradeManager({ logger: quiet, env, stateDir });
  t.equal(m.status().why, undefined);
  m.apply(revision);
  t.ok(existsSync(join(stateDir, 'upgrade', 'config-before-upgrade.json')), 'kept at apply');
  // The new version ran: a later format in current.json and in the history copy of that revision.
  const historyFile = join(stateDir, 'config', 'history', `${String(revision).padStart(10, '0')}.json`);
  writeFileSync(historyFile, readFileSync(historyFile, 'utf8').replace('"hostname": "kept-at-apply"', '"hostname": "rewritten"'));
  const after = structuredClone(before);
  after.system.hostname = 'new-version';
  await store.write(after, { author: 'new version' });
  slots.fail('not-committed', 10);
  const prepared = await prepareUpgrades({ stateDir, logger: quiet, env });
  t.equal(prepared.rolledBack?.reason, 'not-committed');
  const reopened = await ConfigStore.open(join(stateDir, 'config'), { logger: quiet });
  t.equal(reopened.current().config.system.hostname, 'kept-at-apply', 'from the snapshot, not the rewritten history');
});
