// The calls benchmarks (L2TP/IPsec sessions, issue 20; PPTP calls, issue 22): N concurrent calls from
// Postern's own client in one load process on gwA (each from its own address in 198.18.0.0/16)
// against one `postern run` on gwB. Measures the time to set them all up and the server's memory
// before and after (RSS and JavaScript heap per call, after a warm-up batch so the baseline holds
// what the first call allocates once), and proves every call carries IP: one ICMP echo through each
// to the server's LAN address. Prints `bench <name> …` lines; exit code 1 when a call did not carry.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { CLIENT_PREFIX, clientAddress, cpuSecondsOfStat, perSessionKb } from './l2tp-sessions-plan.ts';

export const SERVER = '192.0.2.2';
export const SERVER_LAN = '10.2.0.1';

export interface CallsBench {
  /** `bench <name> …` */
  readonly name: string;
  readonly calls: number;
  readonly concurrency: number;
  readonly config: PosternConfig;
  /** True once the server is ready for calls (its /healthz text and `ss -lntu` output on gwB). */
  readonly ready: (health: string, sockets: string) => boolean;
  /** The load peer (relative to test/lab/peers, as LinePeer takes it) and its configuration. */
  readonly peer: string;
  readonly peerConfig: Record<string, unknown>;
  /** What the server says of its calls' data path, from /healthz. */
  readonly dataPath: (health: string) => string;
}

/** A counter from /healthz's JSON text (-1 when absent). */
export const counter = (text: string, name: string): number => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(text)?.[1] ?? -1);

/** CPU seconds a process has used so far: a call's cost apart from how busy the shared machine is. */
const cpu = (pid: number): number => cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) ?? NaN;

/** The server's memory after a full collection, read until two readings a second apart agree within 1 MiB (5 at most). */
async function memory(pid: number, file: string): Promise<NodeJS.MemoryUsage> {
  let last: NodeJS.MemoryUsage | undefined;
  for (let i = 0; i < 5; i++) {
    rmSync(file, { force: true });
    process.kill(pid, 'SIGUSR2');
    await waitUntil('the server reports its memory', 60_000, () => existsSync(file));
    const m = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
    if (last && Math.abs(m.rss - last.rss) < 1 << 20) return m;
    last = m;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last!;
}

export async function runCallsBench(b: CallsBench): Promise<void> {
  const warmUp = Math.min(20, Math.floor(b.calls / 10));
  const lab = Lab.create(twoSitesDirect);
  const health = async () => (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
  try {
    // The clients' addresses on gwA's WAN, routed from the server.
    const addresses = join(lab.subdir('addresses'), 'ip-batch');
    writeFileSync(addresses, Array.from({ length: b.calls }, (_, i) => `address add ${clientAddress(i)}/32 dev wan\n`).join(''));
    lab.execSync('gwA', ['ip', '-batch', addresses]);
    lab.execSync('gwB', ['ip', 'route', 'add', CLIENT_PREFIX, 'via', '192.0.2.1']);

    const state = lab.subdir('postern-state');
    const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
    await store.write(b.config, { author: 'bench' });
    const probe = join(state, 'memory.json');
    const daemon = lab.spawnDaemon('gwB', 'postern-server', [process.execPath, '--expose-gc', '--import', 'tsx', '--import', resolve('test/bench/memory-probe.mjs'), resolve('firmware/main.ts'), 'run', '--state', state, '--log-level', 'warn'], cleanEnv({ POSTERN_MEMORY_PROBE: probe }));
    await waitUntil(`the server is ready for ${b.name} calls`, 60_000, async () => b.ready(await health(), lab.execSync('gwB', ['ss', '-lntu'])));
    const { peer } = await LinePeer.spawn(lab, 'gwA', `${b.name}-load`, b.peer, { target: SERVER, count: b.calls, concurrency: b.concurrency, ...b.peerConfig });
    const batch = async (count: number) => {
      peer.daemon.child.stdin!.write(`go ${count}\n`);
      const line = await peer.next(Math.max(180_000, count * 1000)).catch((e: Error) => {
        throw new Error(`${e.message}; load log:\n${readFileSync(peer.daemon.logFile, 'utf8').slice(-3000)}`);
      });
      return JSON.parse(line.replace(/^result /, '')) as { up: number; failed: number; seconds: number; errors: Record<string, number> };
    };
    const warm = await batch(warmUp);
    const before = await memory(daemon.pid, probe);
    const cpuBefore = { server: cpu(daemon.pid), load: cpu(peer.daemon.pid) };
    const rest = await batch(b.calls - warmUp);
    const cpuMs = (now: number, then: number) => (((now - then) * 1000) / Math.max(1, rest.up)).toFixed(0);
    const cpuLine = `CPU per call: server ${cpuMs(cpu(daemon.pid), cpuBefore.server)} ms, load ${cpuMs(cpu(peer.daemon.pid), cpuBefore.load)} ms`;
    const r = { up: warm.up + rest.up, failed: warm.failed + rest.failed, seconds: warm.seconds + rest.seconds, errors: { ...warm.errors, ...rest.errors } };
    // Printed before the memory readings, so a server too busy to answer them still leaves this line.
    console.log(`bench ${b.name} setup ${r.up} of ${b.calls} up, ${r.failed} failed in ${r.seconds.toFixed(1)} s (${(r.up / r.seconds).toFixed(1)}/s, ${b.concurrency} at a time) ${JSON.stringify(r.errors)}; ${cpuLine}`);
    const after = await memory(daemon.pid, probe);
    const pinged = JSON.parse((await peer.command(`ping ${SERVER_LAN}`, 60_000)).replace(/^pinged /, '')) as { calls: number; answered: number };
    const kb = perSessionKb(before, after, rest.up);
    // A rule per call would be walked by every packet the server sends (issue 20 found one per L2TP client).
    const rules = lab.execSync('gwB', ['ip', 'rule']).trim().split('\n').length;
    console.log(`bench ${b.name} traffic ${pinged.answered} of ${pinged.calls} calls answered an ICMP echo to ${SERVER_LAN}; server: ${b.dataPath(await health())}; ${rules} policy-routing rules`);
    console.log(`bench ${b.name} memory ${kb.rss.toFixed(1)} KB RSS per call over the ${rest.up} after the first ${warm.up} (${(before.rss / 1048576).toFixed(0)} → ${(after.rss / 1048576).toFixed(0)} MiB); JavaScript heap ${kb.heap.toFixed(1)} KB (${(before.heapUsed / 1048576).toFixed(0)} → ${(after.heapUsed / 1048576).toFixed(0)} MiB), external ${kb.external.toFixed(1)} KB, outside the heap (driver, OpenSSL, libuv) ${kb.outsideHeap.toFixed(1)} KB`);
    if (r.up === 0 || pinged.answered !== r.up) process.exitCode = 1;
  } finally {
    lab.teardown();
  }
}
