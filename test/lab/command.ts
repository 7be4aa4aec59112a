import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, bounded by `timeoutMs`; never throws for a non-zero exit. */
export function run(argv: readonly string[], timeoutMs = 10_000, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same, synchronous: for set-up steps and for teardown in exit handlers. */
export function runSync(argv: readonly string[], timeoutMs = 10_000): CommandResult {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
}

/** Runs and throws with the command's own words when it fails: for set-up that must succeed. */
export function mustRun(argv: readonly string[], timeoutMs = 10_000): string {
  const r = runSync(argv, timeoutMs);
  if (r.code !== 0) throw new Error(`lab: '${argv.join(' ')}' failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const hasBinary = (name: string): boolean => runSync(['sh', '-c', `command -v ${name}`]).code === 0;
export const isRoot = (): boolean => process.getuid?.() === 0;

/** Gone, or dead and waiting to be reaped by its parent (a zombie runs nothing and holds nothing). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
