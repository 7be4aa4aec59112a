// `postern run` as a daemon in a lab namespace, on a configuration the test wrote to its own state
// directory; resolves once `ready` holds for its log.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import type { Lab } from '../lab/topology.ts';
import { cleanEnv } from './env.ts';
import { tsEntry } from './ts-entry.ts';

export interface PosternDaemon {
  readonly stateDir: string;
  log(): string;
  /** SIGTERM, and the exit awaited (bounded). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, nothing cleaned up by Postern; the exit awaited (bounded). */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** The daemon's name in the lab (its log file); several may run in one lab. */
  readonly name?: string;
  /** Start again on an earlier run's state (same CA and certificate); the config is not rewritten. */
  readonly stateDir?: string;
  /** More arguments to `postern run` (`--board FILE`). */
  readonly args?: readonly string[];
}

export async function startPostern(lab: Lab, host: string, config: PosternConfig | undefined, ready: (log: string) => boolean, options: StartOptions = {}): Promise<PosternDaemon> {
  const name = options.name ?? 'postern';
  const stateDir = options.stateDir ?? lab.subdir(`${name}-state`);
  if (config) {
    const store = await ConfigStore.open(join(stateDir, 'config'), { logger: createLogger({ sink: () => {} }) });
    await store.write(config, { author: 'test' });
  }
  const daemon = lab.spawnDaemon(host, name, [process.execPath, ...tsEntry('firmware/main.ts'), 'run', '--state', stateDir, ...(options.args ?? [])], cleanEnv());
  const log = () => (existsSync(daemon.logFile) ? readFileSync(daemon.logFile, 'utf8') : '');
  // 60 s: a loaded 2-core machine can take half a minute to start it; a daemon that died ends the wait at once.
  let exited = false;
  void daemon.exited.then(() => (exited = true));
  await waitUntil(`${name} ready`, 60_000, () => {
    if (ready(log())) return true;
    if (exited) throw new Error(`lab: ${name} exited before it was ready`);
    return false;
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n--- ${name} log ---\n${log().split('\n').slice(-25).join('\n')}`);
  });
  const stop = async () => {
    daemon.child.kill('SIGTERM');
    await Promise.race([daemon.exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
  };
  const kill = async () => {
    daemon.child.kill('SIGKILL');
    await Promise.race([daemon.exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
  };
  return { stateDir, log, stop, kill };
}
