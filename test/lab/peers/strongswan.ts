import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type CommandResult } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { strongswanConf, swanctlConf, type SwanSpec } from './strongswan-config.ts';

export const CHARON = '/usr/lib/ipsec/charon';

/** A real strongSwan charon in a lab host, with its own config dir, vici socket and /run. */
export class StrongSwan {
  readonly dir: string;
  readonly daemon: Daemon;
  readonly #uri: string;

  private constructor(dir: string, daemon: Daemon) {
    this.dir = dir;
    this.daemon = daemon;
    this.#uri = `unix://${dir}/charon.vici`;
  }

  /**
   * Writes the configuration and starts charon. `ip netns exec` gives the command a private mount
   * namespace, so binding the peer's own directory over /run keeps charon's fixed pid file apart.
   */
  static async start(lab: Lab, host: string, spec: SwanSpec): Promise<StrongSwan> {
    const dir = lab.subdir(`swan-${host}`);
    for (const sub of ['run', 'swanctl', 'swanctl/x509', 'swanctl/x509ca', 'swanctl/private', 'swanctl/pkcs12']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'strongswan.conf'), strongswanConf(dir, spec.charonOptions, spec.plugins, spec.log));
    writeFileSync(join(dir, 'swanctl', 'swanctl.conf'), swanctlConf(spec), { mode: 0o600 });
    for (const [name, content] of [...Object.entries(spec.files ?? {}), ...Object.entries(spec.binaryFiles ?? {})]) writeFileSync(join(dir, 'swanctl', name), content, { mode: 0o600 });
    const env = { ...process.env, STRONGSWAN_CONF: join(dir, 'strongswan.conf'), SWANCTL_DIR: join(dir, 'swanctl') };
    // Preloaded into charon alone (not the shell before it).
    const preload = spec.preload?.length ? `env LD_PRELOAD='${spec.preload.join(' ')}' ` : '';
    const daemon = lab.spawnDaemon(host, `charon-${host}`, ['sh', '-c', `mount --bind '${dir}/run' /run && exec ${preload}${CHARON}`], env);
    const swan = new StrongSwan(dir, daemon);
    await swan.#waitForVici(5000);
    const loaded = await swan.swanctl(['--load-all', '--file', join(dir, 'swanctl', 'swanctl.conf')]);
    if (loaded.code !== 0) throw new Error(`swanctl --load-all failed: ${loaded.stdout}${loaded.stderr}\n${swan.log()}`);
    return swan;
  }

  swanctl(args: readonly string[], timeoutMs = 15_000): Promise<CommandResult> {
    return run(['swanctl', ...args, '--uri', this.#uri], timeoutMs, { ...process.env, STRONGSWAN_CONF: join(this.dir, 'strongswan.conf') });
  }

  /** Initiates a child SA (and its IKE_SA); resolves with swanctl's result. */
  initiate(child: string, timeoutSeconds = 10): Promise<CommandResult> {
    return this.swanctl(['--initiate', '--child', child, '--timeout', String(timeoutSeconds)], (timeoutSeconds + 5) * 1000);
  }

  /** IKE_SAs by connection name, with state, child states and byte counters (swanctl --list-sas --raw). */
  async listSas(): Promise<SaSummary[]> {
    const r = await this.swanctl(['--list-sas', '--raw']);
    return parseListSas(r.stdout);
  }

  /** The tail of charon's log, for failure messages. */
  log(lines = 60): string {
    const file = join(this.dir, 'charon.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no charon log)';
  }

  async #waitForVici(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (existsSync(join(this.dir, 'charon.vici'))) return;
      await sleep(20);
    }
    throw new Error(`charon did not open its vici socket within ${ms} ms:\n${readFileSync(this.daemon.logFile, 'utf8')}\n${this.log()}`);
  }
}

export interface SaSummary {
  readonly name: string;
  readonly state: string;
  readonly children: Array<{ name: string; state: string; bytesIn: number; bytesOut: number; packetsIn: number }>;
}

/**
 * `--raw` prints one vici message per line: `list-sa event {conn {state=ESTABLISHED ... child-sas {net-1 {...}}}}`.
 * Pulls out what tests assert on; anything else is ignored.
 */
export function parseListSas(text: string): SaSummary[] {
  const out: SaSummary[] = [];
  for (const line of text.split('\n')) {
    const m = /^list-sa event \{([^ {]+) \{(.*)\}\}\s*$/.exec(line.trim());
    if (!m) continue;
    const body = m[2] as string;
    const state = /(?:^| )state=(\S+)/.exec(body)?.[1] ?? 'unknown';
    const children: SaSummary['children'] = [];
    for (const c of body.matchAll(/([\w-]+) \{name=([\w-]+) [^{}]*?state=(\S+)[^{}]*?\}/g)) {
      const block = c[0];
      const num = (key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(block)?.[1] ?? 0);
      children.push({ name: c[2] as string, state: c[3] as string, bytesIn: num('bytes-in'), bytesOut: num('bytes-out'), packetsIn: num('packets-in') });
    }
    out.push({ name: m[1] as string, state, children });
  }
  return out;
}
