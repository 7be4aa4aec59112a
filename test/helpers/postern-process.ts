import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cleanEnv } from './env.ts';

export interface RunningPostern {
  readonly child: ChildProcess;
  readonly records: Array<Record<string, unknown>>;
  /** Resolves with the first log record that matches, or rejects after `ms`. */
  waitFor(match: (r: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node <entry> run …` and collects its JSON log lines; killed at teardown if still alive. */
export function startPostern(t: { teardown(fn: () => void): void }, entry: string[], args: string[], env: NodeJS.ProcessEnv = cleanEnv()): RunningPostern {
  const child = spawn(process.execPath, [...entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const records: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    records.push(record);
    for (const w of [...waiters]) {
      if (w.match(record)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(record);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waitFor = (match: (r: Record<string, unknown>) => boolean, ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = records.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; stderr: ${stderr}`)), ms);
      waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      void exited.then(() => reject(new Error(`postern exited before the log line; stderr: ${stderr}`)));
    });
  return { child, records, waitFor, exited };
}
