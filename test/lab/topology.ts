import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustRun, run, type CommandResult } from './command.ts';
import { destroy, saveRecord, sweepDeadRuns, type RunRecord } from './registry.ts';

/**
 * Named topologies of network namespaces joined by veth pairs. Everything a lab makes is recorded
 * (registry.ts) and removed by `teardown()`, by exit and signal handlers, or by the next run's sweep.
 */

export interface HostSpec {
  /** Route packets between its interfaces. */
  readonly forwarding?: boolean;
  /** Masquerade (nftables) whatever leaves through the interface on this link. */
  readonly masqueradeOut?: string;
  /** Port forwarding (DNAT) of these UDP ports, arriving on the `masqueradeOut` side, to an inside address. */
  readonly forwardUdp?: { readonly ports: readonly number[]; readonly to: string };
  /** Default route: an address on one of its links. */
  readonly gateway?: string;
  /** More routes: destination prefix → next hop. */
  readonly routes?: Readonly<Record<string, string>>;
}

export interface LinkSpec {
  /** host name and its address on this link, with the prefix length ("gwA", "172.16.1.2/24", "2001:db8:1::2/64"). */
  readonly a: readonly [string, string];
  readonly b: readonly [string, string];
}

export interface TopologySpec {
  readonly hosts: Readonly<Record<string, HostSpec>>;
  /** Keyed by link name; inside each host the interface gets the link's name. */
  readonly links: Readonly<Record<string, LinkSpec>>;
}

export interface Daemon {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
}

const live = new Set<Lab>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.teardown();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of live) lab.teardown();
      process.kill(process.pid, sig);
    });
  }
}

export class Lab {
  readonly prefix: string;
  readonly dir: string;
  readonly #record: RunRecord;
  readonly #hosts: ReadonlySet<string>;
  #torn = false;

  private constructor(prefix: string, hosts: ReadonlySet<string>) {
    this.prefix = prefix;
    this.#hosts = hosts;
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    this.#record = { owner: process.pid, prefix, namespaces: [], pids: [], dirs: [this.dir], rootLinks: [] };
    saveRecord(this.#record);
  }

  /** Builds the topology; on any failure, removes what was made and rethrows. */
  static create(spec: TopologySpec): Lab {
    sweepDeadRuns();
    installHandlers();
    const lab = new Lab(uniquePrefix(), new Set(Object.keys(spec.hosts)));
    live.add(lab);
    try {
      lab.#build(spec);
    } catch (error) {
      lab.teardown();
      throw error;
    }
    return lab;
  }

  /** The namespace of a host. */
  ns(host: string): string {
    if (!this.#hosts.has(host)) throw new Error(`lab: no host '${host}'`);
    return `${this.prefix}-${host}`;
  }

  /** Runs a command inside a host, bounded in time. */
  exec(host: string, argv: readonly string[], timeoutMs = 10_000): Promise<CommandResult> {
    return run(['ip', 'netns', 'exec', this.ns(host), ...argv], timeoutMs);
  }

  execSync(host: string, argv: readonly string[]): string {
    return mustRun(['ip', 'netns', 'exec', this.ns(host), ...argv]);
  }

  /** Starts a long-running process inside a host, tracked by PID, output to a log file. */
  spawnDaemon(host: string, name: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env, interactive = false): Daemon {
    const logFile = join(this.dir, `${name}.log`);
    const log = createWriteStream(logFile);
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: [interactive ? 'pipe' : 'ignore', 'pipe', 'pipe'], env });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    if (child.pid === undefined) throw new Error(`lab: could not start ${name}`);
    this.#record.pids.push(child.pid);
    saveRecord(this.#record);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { pid: child.pid, child, logFile, exited };
  }

  /** A directory for one peer's files, removed with the lab. */
  subdir(name: string): string {
    return mkdtempSync(join(this.dir, `${name}-`));
  }

  /** Removes everything this lab made. Synchronous, so exit handlers can use it; safe to repeat. */
  teardown(): void {
    if (this.#torn) return;
    this.#torn = true;
    live.delete(this);
    destroy(this.#record);
  }

  namespaces(): readonly string[] {
    return [...this.#record.namespaces];
  }

  pids(): readonly number[] {
    return [...this.#record.pids];
  }

  #build(spec: TopologySpec): void {
    for (const host of Object.keys(spec.hosts)) {
      const ns = this.ns(host);
      // Recorded only once made: a name clash with another run must never delete that run's namespace.
      mustRun(['ip', 'netns', 'add', ns]);
      this.#record.namespaces.push(ns);
      saveRecord(this.#record);
      mustRun(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
    }
    Object.entries(spec.links).forEach(([name, link], i) => this.#link(name, link, i));
    for (const [host, h] of Object.entries(spec.hosts)) this.#configureHost(host, h);
  }

  #link(name: string, link: LinkSpec, index: number): void {
    if (name.length > 15) throw new Error(`lab: link name '${name}' is longer than an interface name may be`);
    // Globally unique names while both ends sit in the root namespace, renamed inside each host.
    const tmpA = `${this.prefix}${index}a`;
    const tmpB = `${this.prefix}${index}b`;
    mustRun(['ip', 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    this.#record.rootLinks.push(tmpA);
    saveRecord(this.#record);
    for (const [tmp, [host, address]] of [[tmpA, link.a], [tmpB, link.b]] as const) {
      const ns = this.ns(host);
      // Always `dev NAME`: a bare name such as "n" would be read as an abbreviated keyword.
      mustRun(['ip', 'link', 'set', 'dev', tmp, 'netns', ns]);
      mustRun(['ip', '-n', ns, 'link', 'set', 'dev', tmp, 'name', name]);
      // IPv6 (issue 24): no duplicate address detection, so the address can be bound at once (not "tentative").
      mustRun(['ip', '-n', ns, 'addr', 'add', address, 'dev', name, ...(address.includes(':') ? ['nodad'] : [])]);
      mustRun(['ip', '-n', ns, 'link', 'set', 'dev', name, 'up']);
    }
  }

  #configureHost(host: string, h: HostSpec): void {
    const ns = this.ns(host);
    if (h.forwarding || h.masqueradeOut) {
      mustRun(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      mustRun(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    }
    if (h.gateway) mustRun(['ip', '-n', ns, 'route', 'add', 'default', 'via', h.gateway]);
    for (const [to, via] of Object.entries(h.routes ?? {})) mustRun(['ip', '-n', ns, 'route', 'add', to, 'via', via]);
    if (h.masqueradeOut || h.forwardUdp) {
      const chains = [
        h.masqueradeOut ? `  chain post {\n    type nat hook postrouting priority 100;\n    oifname "${h.masqueradeOut}" masquerade\n  }` : '',
        h.forwardUdp ? `  chain pre {\n    type nat hook prerouting priority -100;\n    ${h.masqueradeOut ? `iifname "${h.masqueradeOut}" ` : ''}udp dport { ${h.forwardUdp.ports.join(', ')} } dnat to ${h.forwardUdp.to}\n  }` : '',
      ].filter(Boolean);
      const rules = `table ip lab_nat {\n${chains.join('\n')}\n}\n`;
      mustRun(['ip', 'netns', 'exec', ns, 'sh', '-c', `printf '%s' '${rules}' | nft -f -`]);
    }
  }
}

/** "pl" + 4 base-36 characters: short enough that `<prefix><n>a` fits an interface name. */
function uniquePrefix(): string {
  const n = (process.pid * 7919 + Math.floor(Math.random() * 1_000_000)) % 36 ** 4;
  return `pl${n.toString(36).padStart(4, '0')}`;
}
