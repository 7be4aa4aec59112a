// Safe mode on a fake clock (issue 17): a change applied with "confirm within N seconds" reverts by
// itself when the time runs out, stays when confirmed, and is written down for a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkConfirmWithin, SafeMode, type PendingChange, type SafeModeOutcome } from '../../../firmware/config/safe-mode.ts';
import { readPending, writePending } from '../../../firmware/config/safe-mode-file.ts';

/** Timers that fire only when the test moves the clock. */
function fakeTime() {
  let now = 1_700_000_000_000;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    clock: () => now,
    setTimer: (ms: number, fn: () => void) => {
      const timer = { at: now + ms, fn };
      timers.add(timer);
      return { cancel: () => void timers.delete(timer) };
    },
    async advance(ms: number) {
      now += ms;
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > now) continue;
        timers.delete(timer);
        timer.fn();
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
    get armed() {
      return timers.size;
    },
  };
}

function rig() {
  const time = fakeTime();
  const saved: Array<PendingChange | undefined> = [];
  const reverts: Array<{ to: number; why: string }> = [];
  const outcomes: SafeModeOutcome[] = [];
  let nextRevision = 10;
  const safe = new SafeMode({
    clock: time.clock, setTimer: time.setTimer, persist: (p) => saved.push(p),
    revert: async (change, why) => {
      reverts.push({ to: change.previousRevision, why });
      return ++nextRevision;
    },
    onOutcome: (o) => outcomes.push(o),
  });
  return { time, saved, reverts, outcomes, safe };
}

t.test('not confirmed in time: back to the revision before the change, once', async (t) => {
  const { time, saved, reverts, outcomes, safe } = rig();
  const pending = safe.begin({ revision: 8, previousRevision: 7, seconds: 60, author: 'admin', comment: 'WAN changed' });
  t.equal(pending.deadline, time.clock() + 60_000);
  t.same(saved.at(-1), pending, 'written down for a restart');
  await time.advance(59_999);
  t.same(reverts, [], 'nothing before the deadline');
  await time.advance(1);
  t.same(reverts, [{ to: 7, why: 'not confirmed within 60 s' }], 'reverted at the deadline');
  t.match(outcomes, [{ kind: 'reverted', revision: 11, change: { revision: 8, previousRevision: 7 } }]);
  t.equal(safe.pending, undefined);
  t.equal(saved.at(-1), undefined, 'and the note removed');
  await time.advance(120_000);
  t.equal(reverts.length, 1, 'never twice');
  t.equal(safe.confirm(), false, 'nothing left to confirm');
});

t.test('confirmed in time: kept, no timer left', async (t) => {
  const { time, reverts, outcomes, safe } = rig();
  safe.begin({ revision: 8, previousRevision: 7, seconds: 30, author: 'admin', comment: 'listener sstp changed' });
  await time.advance(29_000);
  t.equal(safe.confirm(), true);
  t.equal(time.armed, 0);
  await time.advance(60_000);
  t.same(reverts, []);
  t.match(outcomes, [{ kind: 'confirmed', change: { revision: 8 } }]);
});

t.test('a second change while one is pending: the deadline moves, the way back stays the first', async (t) => {
  const { time, reverts, safe } = rig();
  safe.begin({ revision: 8, previousRevision: 7, seconds: 30, author: 'admin', comment: 'WAN' });
  await time.advance(20_000);
  const second = safe.begin({ revision: 9, previousRevision: 8, seconds: 30, author: 'admin', comment: 'LAN' });
  t.equal(second.previousRevision, 7, 'everything since the first change is undone');
  await time.advance(20_000);
  t.same(reverts, [], 'the first deadline no longer counts');
  await time.advance(10_000);
  t.same(reverts.map((r) => r.to), [7]);
});

t.test('a revert that fails is reported, not thrown', async (t) => {
  const time = fakeTime();
  const outcomes: SafeModeOutcome[] = [];
  const safe = new SafeMode({ clock: time.clock, setTimer: time.setTimer, persist: () => undefined, revert: async () => Promise.reject(new Error('revision 7 is not kept')), onOutcome: (o) => outcomes.push(o) });
  safe.begin({ revision: 8, previousRevision: 7, seconds: 5, author: 'admin', comment: '' });
  await time.advance(5000);
  t.match(outcomes, [{ kind: 'revert-failed', error: 'revision 7 is not kept' }]);
});

t.test('confirmWithin: whole seconds, 5 to 3600', async (t) => {
  t.same(checkConfirmWithin('120'), { ok: true, seconds: 120 });
  t.same(checkConfirmWithin(5), { ok: true, seconds: 5 });
  for (const bad of ['4', 3601, '1.5', 'soon', -1, null, '']) t.equal(checkConfirmWithin(bad).ok, false, `${JSON.stringify(bad)} refused`);
});

t.test('the pending change on disk: written, read back, removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-safe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.same(readPending(dir), {});
  const pending: PendingChange = { revision: 8, previousRevision: 7, deadline: 1, startedAt: 0, seconds: 60, author: 'admin', comment: 'WAN' };
  writePending(dir, pending);
  t.same(readPending(dir), { pending });
  writePending(dir, undefined);
  t.same(readPending(dir), {});
});
