import { createHash } from 'node:crypto';
import t from 'tap';
import { SlotError, SlotStore, slotLayoutIn, boardSlotLayout } from '../../../firmware/upgrade/slot-store.ts';
import { chooseBoot, decodeBootState, encodeBootState, initialBootState, markTrial, type BootState, type SlotInfo } from '../../../firmware/upgrade/slot-state.ts';
import { loadBoardFile } from '../../../firmware/board/load.ts';
import { CrashFs, PowerCut } from './crash-fs.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const exeA = Buffer.from('#!/bin/sh\n# version 0.1.0\n'.repeat(50));
const exeB = Buffer.from('#!/bin/sh\n# version 0.2.0 the new one\n'.repeat(60));
const infoA: SlotInfo = { version: '0.1.0', sha256: sha(exeA), minVersion: '0.0.0' };
const infoB: SlotInfo = { version: '0.2.0', sha256: sha(exeB), minVersion: '0.1.0' };
const layout = slotLayoutIn('/slots');

function factoryBox(): { fs: CrashFs; store: SlotStore } {
  const fs = new CrashFs();
  fs.seed(layout.a, exeA);
  fs.seed(layout.stateFile, Buffer.from(encodeBootState(initialBootState(infoA))));
  return { fs, store: new SlotStore(layout, fs) };
}

/** The whole upgrade as the API and the launcher drive it: upload in pieces, apply, trial boot, commit. */
function upgrade(store: SlotStore): void {
  const writer = store.beginInstall();
  for (let i = 0; i < exeB.length; i += 512) writer.write(exeB.subarray(i, i + 512));
  writer.finish({ ...infoB, bytes: exeB.length });
  store.apply(7, 120);
  const boot = store.boot(1000);
  if (boot.slot !== 'b' || !boot.trial) throw new Error('expected a trial boot of b');
  store.commit('b', 1010);
}

t.test('the record round-trips through its text form, and damage is named', async (t) => {
  const s: BootState = { ...initialBootState(infoA), slots: { a: infoA, b: infoB }, trial: 'b', tries: 1, configRevision: 12, lastFailure: { slot: 'b', version: '0.2.0', reason: 'unhealthy', at: 1_796_000_000, handled: false }, lastCommit: { version: '0.1.0', at: 1_795_000_000 } };
  t.same(decodeBootState(encodeBootState(s)), s, 'epoch seconds (10 digits) survive');
  t.match(decodeBootState('format=1\nactive=c\n'), /active/);
  t.match(decodeBootState('garbage'), /key=value/);
  t.throws(() => encodeBootState({ ...s, slots: { a: { ...infoA, version: '1 2' }, b: undefined } }), /launcher cannot read/);
});

t.test('the state machine: trial once, then back to the active slot; no second upgrade during a trial', async (t) => {
  const staged: BootState = { ...initialBootState(infoA), slots: { a: infoA, b: infoB } };
  const trial = markTrial(staged, 'b', 3, 60);
  t.ok(trial.ok);
  if (!trial.ok) return;
  const first = chooseBoot(trial.state, 100);
  t.same([first.slot, first.trial], ['b', true]);
  const second = chooseBoot(first.state, 200);
  t.same([second.slot, second.trial], ['a', false], 'tries used up: the active slot');
  t.equal(second.state.lastFailure?.reason, 'not-committed');
  t.equal(second.state.lastFailure?.version, '0.2.0');
  t.notOk(markTrial(trial.state, 'b', 3, 60).ok, 'already on trial');
  t.notOk(markTrial({ ...staged, slots: { a: infoA, b: undefined } }, 'b', 3, 60).ok, 'nothing staged');
});

t.test('a full upgrade without interruption commits b and takes its floor', async (t) => {
  const { store } = factoryBox();
  upgrade(store);
  const s = store.read();
  t.equal(s.active, 'b');
  t.equal(s.trial, undefined);
  t.equal(s.floor, '0.1.0');
  t.same(s.lastCommit, { version: '0.2.0', at: 1010 });
  t.equal(s.configRevision, 7);
});

t.test('power cut before every file operation: the box always boots a whole, recorded executable', async (t) => {
  const { fs: probe, store: whole } = factoryBox();
  upgrade(whole);
  const total = probe.operations;
  t.ok(total > 20, `${total} operations in an upgrade`);
  const seen = new Set<string>();
  for (let n = 0; n <= total; n++) {
    const { fs, store } = factoryBox();
    fs.cutAfter(n);
    try {
      upgrade(store);
    } catch (error) {
      if (!(error instanceof PowerCut)) throw error;
    }
    fs.reboot();
    // The administrator presses Apply again after the power returns (refused unless something is staged).
    try {
      store.apply(7, 120);
    } catch (error) {
      if (!(error instanceof SlotError)) throw error;
    }
    // Boot up to three times (a trial that never commits falls back on the next boot).
    for (let boot = 0; boot < 3; boot++) {
      const state = store.read(); // throws if the record is damaged: the test fails
      const choice = store.boot(2000 + boot);
      const bytes = fs.readFile(layout[choice.slot]);
      const recorded = state.slots[choice.slot] ?? (choice.slot === 'a' ? infoA : undefined);
      if (!bytes || !recorded || sha(bytes) !== recorded.sha256 || !(bytes.equals(exeA) || bytes.equals(exeB))) {
        t.fail(`cut after ${n} (${fs.log[n - 1] ?? 'start'}), boot ${boot}: slot ${choice.slot} is not whole`);
        return;
      }
      seen.add(`${choice.slot}:${bytes.equals(exeA) ? 'A' : 'B'}`);
    }
  }
  t.ok(seen.has('a:A') && seen.has('b:B'), `both outcomes reached: ${[...seen].join(' ')}`);
});

t.test('an interrupted upload leaves the record and both slots as they were', async (t) => {
  const { fs, store } = factoryBox();
  const before = fs.readFile(layout.stateFile);
  const writer = store.beginInstall();
  writer.write(exeB.subarray(0, 100));
  writer.abort();
  t.ok(fs.readFile(layout.stateFile)?.equals(before as Buffer), 'record unchanged');
  t.equal(fs.readFile(`${layout.b}.new`), undefined, 'temporary file removed');
  t.equal(fs.readFile(layout.b), undefined);
  const bad = store.beginInstall();
  bad.write(exeB);
  t.throws(() => bad.finish({ ...infoB, sha256: sha(exeA), bytes: exeB.length }), /does not read back/);
  t.ok(fs.readFile(layout.stateFile)?.equals(before as Buffer), 'record unchanged after a bad read-back');
});

t.test('a failed trial is recorded for the old slot to handle', async (t) => {
  const { store } = factoryBox();
  const w = store.beginInstall();
  w.write(exeB);
  w.finish({ ...infoB, bytes: exeB.length });
  store.apply(9, 60);
  t.throws(() => store.beginInstall(), /waiting for its trial/);
  store.boot(50);
  const failed = store.fail('unhealthy', 99);
  t.equal(failed.active, 'a');
  t.same(failed.lastFailure, { slot: 'b', version: '0.2.0', reason: 'unhealthy', at: 99, handled: false });
  t.equal(failed.configRevision, 9, 'the revision to restore');
  store.markFailureHandled();
  t.equal(store.read().lastFailure?.handled, true);
  t.equal(store.boot(120).slot, 'a');
});

t.test('board layouts: files beside each other, image-path boards get a slots folder, raw partitions refused', async (t) => {
  t.same(boardSlotLayout(loadBoardFile('board/generic-x64.json')), slotLayoutIn('/usr/local/bin/slots'));
  t.same(boardSlotLayout(loadBoardFile('board/nanopi-r5s.json')), slotLayoutIn('/usr/lib/postern/slots'), 'an A/B board: its slots and boot record beside the launcher');
  const raw = loadBoardFile('board/nanopi-r5s.json');
  t.match(boardSlotLayout({ ...raw, storage: { ...raw.storage, slots: { a: '/dev/mmcblk0p5', b: '/dev/mmcblk0p6' } } }), /block devices/);
});
