// SIGKILL the configuration writer at random moments: the store must always load a whole, valid
// revision no older than the last write that was acknowledged, without falling back.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import t from 'tap';
import { ConfigStore } from '../../firmware/config/store.ts';
import { validateConfig } from '../../firmware/config/validate.ts';
import { createLogger, memorySink } from '../../firmware/log/logger.ts';
import { tempDir } from '../helpers/tmp.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const MIN_WRITES = 200;
const MAX_ROUNDS = 80;
const DEADLINE_MS = 120_000;

/** Runs the writer until killed after `killAfterMs`; returns the revisions it acknowledged. */
function writeUntilKilled(dir: string, killAfterMs: number): Promise<number[]> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...tsEntry('test/crash/config-writer.ts'), dir, 'k', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const m = /^ack (\d+)$/.exec(line);
      if (m) acked.push(Number(m[1]));
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done(acked) : fail(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

// Its own deadline bounds it (each round starts a writer process, slow on a loaded machine); tap's must not cut in first.
t.setTimeout(DEADLINE_MS + 60_000);

t.test(`SIGKILL during ${MIN_WRITES}+ writes never leaves a torn or stale configuration`, async (t) => {
  const dir = tempDir(t);
  const started = Date.now();
  let writes = 0;
  let rounds = 0;
  let lastAcked = 0;
  let problems = 0;
  while ((writes < MIN_WRITES || rounds < 10) && rounds < MAX_ROUNDS && Date.now() - started < DEADLINE_MS) {
    rounds++;
    const acked = await writeUntilKilled(dir, 5 + Math.floor(Math.random() * 150));
    writes += acked.length + 1; // the one in flight when killed was attempted too
    lastAcked = Math.max(lastAcked, ...acked);
    const { sink, records } = memorySink();
    const store = await ConfigStore.open(dir, { logger: createLogger({ sink }), keep: 1000 });
    const { revision, config } = store.current();
    const fellBack = records.filter((r) => r.level === 'error');
    if (revision < lastAcked || !validateConfig(config).ok || fellBack.length > 0) {
      problems++;
      t.fail(`round ${rounds}: revision ${revision}, last acknowledged ${lastAcked}, errors ${JSON.stringify(fellBack)}`);
    }
    lastAcked = Math.max(lastAcked, revision);
  }
  t.ok(writes >= MIN_WRITES, `${writes} writes attempted over ${rounds} kills`);
  t.equal(problems, 0, 'every reload was whole, valid and current');
  t.comment(`crash test: ${writes} writes, ${rounds} SIGKILLs, ${Date.now() - started} ms`);
});
