// Whatever way a lab user dies, nothing it made survives: not its namespaces, processes or files.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import t from 'tap';
import { isRoot, processGone, runSync } from '../lab/command.ts';
import { sweepDeadRuns } from '../lab/registry.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(isRoot() ? false : 'needs root');

interface Made { prefix: string; namespaces: string[]; pids: number[]; dir: string }

/** Starts the doomed lab user; resolves with what it made once it has made it. */
function startDoomed(how: string) {
  const child = spawn(process.execPath, [...tsEntry('test/lab/fixtures/doomed-lab.ts'), how], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const made = new Promise<Made>((done, fail) => {
    createInterface({ input: child.stdout }).once('line', (line) => done(JSON.parse(line) as Made));
    child.on('exit', (code) => fail(new Error(`doomed lab exited (${code}) before building`)));
  });
  return { child, made, exited };
}

function leftovers(made: Made): string[] {
  const ns = runSync(['ip', 'netns', 'list']).stdout;
  return [
    ...made.namespaces.filter((n) => ns.includes(n)).map((n) => `namespace ${n}`),
    ...made.pids.filter((p) => !processGone(p)).map((p) => `process ${p}`),
    ...(existsSync(made.dir) ? [`directory ${made.dir}`] : []),
  ];
}

t.test('an uncaught throw: the exit handler removes everything', { skip }, async (t) => {
  const { made, exited } = startDoomed('throw');
  const m = await made;
  await exited;
  t.same(leftovers(m), []);
});

t.test('SIGTERM: the signal handler removes everything', { skip }, async (t) => {
  const { child, made, exited } = startDoomed('wait');
  const m = await made;
  t.ok(m.namespaces.length === 2 && m.namespaces.every((n) => runSync(['ip', 'netns', 'list']).stdout.includes(n)), 'its namespaces exist while it runs');
  t.notOk(processGone(m.pids[0]!), 'its daemon runs');
  child.kill('SIGTERM');
  await exited;
  await waitUntil('teardown', 3000, () => leftovers(m).length === 0);
  t.same(leftovers(m), []);
});

t.test('SIGKILL: nothing runs in the victim, so the next run sweeps what it left', { skip }, async (t) => {
  const { child, made, exited } = startDoomed('wait');
  const m = await made;
  child.kill('SIGKILL');
  await exited;
  t.ok(leftovers(m).length > 0, 'left behind after SIGKILL');
  const swept = sweepDeadRuns();
  t.ok(swept.includes(m.prefix), 'the sweep found the dead run');
  t.same(leftovers(m), []);
});
