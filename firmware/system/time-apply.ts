/**
 * system.timezone and system.ntp.servers applied to the box (issue 17): the process's own TZ always,
 * the system's files and time services only where Postern owns the system (time-plan.ts says what).
 * A developer's machine is never touched: `make run` and the tests run on a generic profile.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { builtInBoard } from '../board/load.ts';
import type { SelectedBoard } from '../board/select.ts';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { planTimeApply, type TimeAction, type TimeSettings } from './time-plan.ts';

export type CommandRunner = (argv: readonly string[]) => Promise<void>;

/**
 * The root of the system Postern may change, or none. `/` only for a firmware image on its own board
 * whose state directory is the board's (the box itself); POSTERN_SYSTEM_ROOT names a stand-in root for
 * tests and benches. A run from source or a plain bundle (generic profile, or --board FILE) owns nothing.
 */
export function ownedSystemRoot(selected: SelectedBoard, stateDir: string, env: NodeJS.ProcessEnv = process.env, embedded = builtInBoard()): string | undefined {
  const standIn = env['POSTERN_SYSTEM_ROOT'];
  if (standIn) return resolve(standIn);
  if (embedded && selected.board.name === embedded.name && resolve(stateDir) === resolve(embedded.storage.stateDir)) return '/';
  return undefined;
}

export const settingsOf = (config: PosternConfig): TimeSettings => ({ timezone: config.system.timezone, ntpServers: config.system.ntp?.servers ?? [] });

export interface TimeApplyResult {
  /** Files written, removed or linked (paths on the system, not under the root). */
  readonly changed: string[];
  readonly ran: Array<readonly string[]>;
  readonly notes: readonly string[];
  readonly errors: string[];
}

/** Runs a plan under `root`: files only when they differ, then the commands; each failure noted, none thrown. */
export async function applyTime(settings: TimeSettings, root: string, run: CommandRunner): Promise<TimeApplyResult> {
  const at = (p: string) => join(root, p);
  const plan = planTimeApply(settings, (p) => existsSync(at(p)), (p) => readSafe(at(p)));
  const result: TimeApplyResult = { changed: [], ran: [], notes: plan.notes, errors: [...plan.errors] };
  for (const action of plan.actions) {
    try {
      if (action.kind === 'run') {
        await run(action.argv);
        result.ran.push(action.argv);
      } else if (applyFile(action, at(action.path))) {
        result.changed.push(action.path);
      }
    } catch (error) {
      result.errors.push(`${action.kind === 'run' ? action.argv.join(' ') : `${action.kind} ${action.path}`}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return result;
}

/** true when the file changed. */
function applyFile(action: Exclude<TimeAction, { kind: 'run' }>, path: string): boolean {
  if (action.kind === 'remove') {
    if (!existsSync(path)) return false;
    rmSync(path);
    return true;
  }
  if (action.kind === 'write') {
    if (existsSync(path) && readFileSync(path, 'utf8') === action.content) return false;
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, action.content, 0o644);
    return true;
  }
  const current = lstatSafe(path)?.isSymbolicLink() ? readlinkSync(path) : undefined;
  if (current === action.target) return false;
  // A new link beside it, renamed over: /etc/localtime is never missing for a moment.
  const tmp = `${path}.postern-${process.pid}`;
  mkdirSync(dirname(path), { recursive: true });
  rmSync(tmp, { force: true });
  symlinkSync(action.target, tmp);
  renameSync(tmp, path);
  return true;
}

const readSafe = (path: string) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

const lstatSafe = (path: string) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

/** The system's tools, bounded; only ever on the real root. */
const runCommand: CommandRunner = (argv) =>
  new Promise((done, fail) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 15_000 }, (error, _stdout, stderr) => (error ? fail(new Error(`${error.message.split('\n')[0]} ${stderr.trim().slice(0, 200)}`)) : done()));
  });

export interface TimeSubsystemOptions {
  readonly logger: Logger;
  /** From ownedSystemRoot(); none: only the process's TZ. */
  readonly root: string | undefined;
  /** Tests give their own; the real tools run only when the root is `/`. */
  readonly run?: CommandRunner;
}

/** Where the settings took effect, for the Time card: the system, only Postern's own process, or not (detail says why). */
export type TimeAppliedTo = 'system' | 'process-only' | 'error';
export interface TimeStatus extends SubsystemStatus {
  readonly appliedTo?: TimeAppliedTo;
}

export class TimeSubsystem implements Subsystem {
  readonly name = 'time';
  readonly #options: TimeSubsystemOptions;
  #status: TimeStatus = { state: 'stopped' };
  readonly counters = { applied: 0, failures: 0 };

  constructor(options: TimeSubsystemOptions) {
    this.#options = options;
  }

  async start(config: PosternConfig): Promise<void> {
    await this.#apply(config);
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    await this.#apply(next);
  }

  async stop(): Promise<void> {
    this.#status = { state: 'stopped' };
  }

  status(): TimeStatus {
    return { ...this.#status, counters: { ...this.counters } };
  }

  /** A failure is logged and shown, never thrown: the clock's zone is not worth refusing a configuration for. */
  async #apply(config: PosternConfig): Promise<void> {
    const settings = settingsOf(config);
    const log = this.#options.logger;
    // Node reads TZ afresh for each local-time conversion: the process's own clock follows at once.
    process.env['TZ'] = settings.timezone;
    const root = this.#options.root;
    if (root === undefined) {
      this.#status = { state: 'running', appliedTo: 'process-only', detail: `TZ ${settings.timezone} for this process; the system is not Postern's to change` };
      return;
    }
    const run = this.#options.run ?? (root === '/' ? runCommand : async (argv: readonly string[]) => log.info('would run (stand-in root)', { argv: [...argv] }));
    const result = await applyTime(settings, root, run);
    this.counters.applied++;
    for (const note of result.notes) log.warn(`time: ${note}`);
    for (const error of result.errors) log.warn('time settings not applied', { error });
    if (result.errors.length > 0) this.counters.failures++;
    if (result.changed.length > 0 || result.ran.length > 0) log.info('time settings applied', { timezone: settings.timezone, ntpServers: [...settings.ntpServers], changed: result.changed, ran: result.ran.map((a) => a.join(' ')) });
    this.#status = result.errors.length > 0
      ? { state: 'running', appliedTo: 'error', detail: `not all applied: ${result.errors[0]}` }
      : { state: 'running', appliedTo: 'system', detail: `${settings.timezone}, NTP ${settings.ntpServers.join(' ') || "the system's own"}` };
  }
}

export function timeSpec(create: () => TimeSubsystem): SubsystemSpec {
  return { name: 'time', wanted: () => true, slice: settingsOf, create };
}
