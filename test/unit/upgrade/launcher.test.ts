import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { decodeBootState, encodeBootState, initialBootState, type BootState } from '../../../firmware/upgrade/slot-state.ts';
import { slotLayoutIn } from '../../../firmware/upgrade/slot-store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const LAUNCHER = resolve('firmware/upgrade/launcher.sh');
const sha = (b: string): string => createHash('sha256').update(b).digest('hex');

// Fake executables: each notes that it ran (slot, trial flag) and then behaves as told.
const serving = (name: string) => `#!/bin/sh\necho "${name} $POSTERN_SLOT $POSTERN_TRIAL" >> "$1/ran"\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n`;
const crashing = (name: string) => `#!/bin/sh\necho "${name} $POSTERN_SLOT $POSTERN_TRIAL" >> "$1/ran"\nexit 1\n`;
/** A good new version: commits itself (as the service does once healthy), then serves. */
const committing = (name: string) => `#!/bin/sh\necho "${name} $POSTERN_SLOT $POSTERN_TRIAL" >> "$1/ran"\nsed -i 's/^active=a$/active=b/; s/^trial=b$/trial=/' "$1/boot.state"\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n`;
const hanging = (name: string) => `#!/bin/sh\necho "${name} $POSTERN_SLOT $POSTERN_TRIAL" >> "$1/ran"\nwhile :; do sleep 0.1; done\n`;

const shells = [['dash', '/bin/sh'], ['busybox sh', existsSync('/usr/bin/busybox') ? '/usr/bin/busybox' : '']].filter(([, p]) => p) as Array<[string, string]>;

function box(t: { teardown(fn: () => void): void }, a: string, b: string, patch: Partial<BootState> = {}): string {
  const dir = tempDir(t, 'postern-launcher-');
  const layout = slotLayoutIn(dir);
  writeFileSync(layout.a, a, { mode: 0o755 });
  writeFileSync(layout.b, b, { mode: 0o755 });
  const state: BootState = {
    ...initialBootState({ version: '0.1.0', sha256: sha(a), minVersion: '0.0.0' }),
    slots: { a: { version: '0.1.0', sha256: sha(a), minVersion: '0.0.0' }, b: { version: '0.2.0', sha256: sha(b), minVersion: '0.0.0' } },
    trial: 'b', ...patch,
  };
  writeFileSync(layout.stateFile, encodeBootState(state));
  return dir;
}

/** Runs the launcher until `until` holds for the ran-log (bounded), then stops it with TERM. */
async function launch(shell: string, dir: string, until: (ran: string[]) => boolean): Promise<{ ran: string[]; state: BootState; code: number | null; stderr: string }> {
  const args = shell.endsWith('busybox') ? ['sh', LAUNCHER, dir] : [LAUNCHER, dir];
  const child = spawn(shell, args, { env: { ...process.env, POSTERN_SLOTS_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ranNow = () => (existsSync(join(dir, 'ran')) ? readFileSync(join(dir, 'ran'), 'utf8').trim().split('\n') : []);
  try {
    for (let i = 0; i < 150 && !until(ranNow()); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const code = await exited;
  clearTimeout(timer);
  const file = join(dir, 'boot.state');
  const state = existsSync(file) ? decodeBootState(readFileSync(file, 'utf8')) : initialBootState(undefined);
  if (typeof state === 'string') throw new Error(state);
  return { ran: ranNow(), state, code, stderr };
}

for (const [name, shell] of shells) {
  t.test(`${name}: a new version that exits at start falls back to slot a by itself`, async (t) => {
    const dir = box(t, serving('A'), crashing('B'));
    const r = await launch(shell, dir, (ran) => ran.includes('A a 0'));
    t.same(r.ran, ['B b 1', 'A a 0'], r.stderr);
    t.equal(r.state.active, 'a');
    t.equal(r.state.trial, undefined);
    t.same(r.state.lastFailure && { slot: r.state.lastFailure.slot, version: r.state.lastFailure.version, reason: r.state.lastFailure.reason, handled: r.state.lastFailure.handled }, { slot: 'b', version: '0.2.0', reason: 'not-committed', handled: false });
    t.equal(r.code, 0, 'stopped by TERM through slot a');
  });

  t.test(`${name}: a new version that commits stays, and boots next time without trial`, async (t) => {
    const dir = box(t, serving('A'), committing('B'));
    const first = await launch(shell, dir, (ran) => ran.includes('B b 1') && readFileSync(join(dir, 'boot.state'), 'utf8').includes('active=b'));
    t.same(first.ran, ['B b 1'], first.stderr);
    const second = await launch(shell, dir, (ran) => ran.length >= 2);
    t.same(second.ran, ['B b 1', 'B b 0'], 'the committed slot b, not on trial');
    t.equal(second.state.active, 'b');
    t.equal(second.state.lastFailure, undefined);
  });
}

const [, sh] = shells[0] as [string, string];
t.test('a trial that hangs past its time is stopped and slot a runs again', async (t) => {
  const dir = box(t, serving('A'), hanging('B'), { trialSeconds: 1 });
  const r = await launch(sh, dir, (ran) => ran.includes('A a 0'));
  t.same(r.ran, ['B b 1', 'A a 0'], r.stderr);
  t.equal(r.state.lastFailure?.reason, 'not-committed');
});

t.test('a trial slot whose bytes do not match its recorded hash is never started', { skip: spawnSync('sh', ['-c', 'command -v sha256sum']).status === 0 ? false : 'no sha256sum' }, async (t) => {
  const dir = box(t, serving('A'), serving('B'));
  writeFileSync(join(dir, 'b'), serving('B, damaged'), { mode: 0o755 });
  const r = await launch(sh, dir, (ran) => ran.includes('A a 0'));
  t.same(r.ran, ['A a 0'], r.stderr);
  t.equal(r.state.lastFailure?.reason, 'hash-mismatch');
});

t.test('no record: a fresh box boots slot a', async (t) => {
  const dir = box(t, serving('A'), serving('B'));
  rmSync(join(dir, 'boot.state'));
  const r = await launch(sh, dir, (ran) => ran.length >= 1);
  t.same(r.ran, ['A a 0']);
});
