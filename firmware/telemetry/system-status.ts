import { loadavg, uptime } from 'node:os';
import * as si from 'systeminformation';
import { SCHEMA_VERSION, isoTs, type CertificateStatus, type RadiusStatus, type InterfaceStatus, type SessionCounts, type StatusMessage, type Temperature, type TunnelStatus, type WanStatus } from './schema.ts';

/**
 * A statusSource from the operating system (systeminformation for memory, sensors and interfaces;
 * node:os for load averages and uptime, which are cheap and exact). Every probe is bounded and
 * tolerant: one that fails or hangs yields an empty part, never a missing report.
 */

export interface SystemStatusOptions {
  /** Milliseconds since the epoch. */
  readonly clock?: () => number;
  /** From the protocol listeners; zeros until they exist. */
  readonly sessions?: () => SessionCounts;
  readonly tunnels?: () => readonly TunnelStatus[];
  /** Subsystems' counters by subsystem name. */
  readonly counters?: () => Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Certificates in use and their expiry. */
  readonly certificates?: () => readonly CertificateStatus[];
  /** The WAN's interface and addresses, and the board's name (issue 18). */
  readonly wan?: () => WanStatus;
  readonly board?: () => string;
  /** RADIUS servers and the accounting backlog (issue 21); absent while no listener asks RADIUS. */
  readonly radius?: () => RadiusStatus | undefined;
  /** Bound on each probe, in milliseconds. */
  readonly probeTimeoutMs?: number;
  /** The probes, replaceable in tests. */
  readonly probes?: Partial<SystemProbes>;
}

export interface SystemProbes {
  mem(): Promise<{ total: number; available: number }>;
  cpuTemperature(): Promise<{ main: number | null; cores: readonly (number | null)[]; chipset?: number | null }>;
  networkStats(): Promise<ReadonlyArray<{ iface: string; operstate: string; rx_bytes: number; tx_bytes: number }>>;
}

const NO_SESSIONS: SessionCounts = { ikev2: 0, sstp: 0, l2tp: 0, pptp: 0 };

const defaultProbes: SystemProbes = {
  mem: () => si.mem(),
  // systeminformation types `main` as a number; it is null on boards without a sensor.
  cpuTemperature: () => si.cpuTemperature(),
  networkStats: () => si.networkStats('*'),
};

export function systemStatusSource(options: SystemStatusOptions = {}): () => Promise<StatusMessage> {
  const clock = options.clock ?? Date.now;
  const probes: SystemProbes = { ...defaultProbes, ...options.probes };
  const bound = <T>(p: () => Promise<T>, fallback: T) => bounded(p, options.probeTimeoutMs ?? 3000, fallback);
  return async () => {
    // Stamped when sampling starts: the probes take a varying time (the first much longer), and the
    // report is the state at the interval's tick, so consecutive reports stay one interval apart.
    const sampledAt = clock();
    const [mem, temperature, network] = await Promise.all([
      bound(probes.mem, undefined),
      bound(probes.cpuTemperature, undefined),
      bound(probes.networkStats, []),
    ]);
    const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
    return {
      schema: SCHEMA_VERSION,
      ts: isoTs(sampledAt),
      uptimeSeconds: Math.round(uptime()),
      load: [l1, l5, l15],
      // "Used" is what programs hold: total less what is available (page cache does not count).
      memory: mem ? { totalBytes: mem.total, usedBytes: Math.max(0, mem.total - mem.available) } : { totalBytes: 0, usedBytes: 0 },
      temperatures: temperature ? temperatures(temperature) : [],
      interfaces: network.map(interfaceStatus),
      sessions: options.sessions?.() ?? NO_SESSIONS,
      tunnels: options.tunnels?.() ?? [],
      ...(options.counters ? { counters: options.counters() } : {}),
      ...(options.certificates ? { certificates: options.certificates() } : {}),
      ...(options.wan ? { wan: options.wan() } : {}),
      ...(options.board ? { board: options.board() } : {}),
      ...radiusPart(options.radius?.()),
    };
  };
}

const radiusPart = (radius: RadiusStatus | undefined): { radius?: RadiusStatus } => (radius ? { radius } : {});

const interfaceStatus = (n: { iface: string; operstate: string; rx_bytes: number; tx_bytes: number }): InterfaceStatus => ({
  name: n.iface, rxBytes: n.rx_bytes, txBytes: n.tx_bytes, up: n.operstate === 'up',
});

export function temperatures(t: Awaited<ReturnType<SystemProbes['cpuTemperature']>>): Temperature[] {
  const out: Temperature[] = [];
  const add = (name: string, celsius: number | null | undefined) => {
    if (typeof celsius === 'number' && Number.isFinite(celsius)) out.push({ name, celsius });
  };
  add('cpu', t.main);
  t.cores.forEach((c, i) => add(`core${i}`, c));
  add('chipset', t.chipset);
  return out;
}

/** `probe()`, or `fallback` if it throws, rejects or takes longer than `ms`. */
export async function bounded<T, F>(probe: () => Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([Promise.resolve().then(probe), late]);
  } catch {
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}
