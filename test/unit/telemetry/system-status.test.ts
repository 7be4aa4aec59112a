import t from 'tap';
import { bounded, systemStatusSource, temperatures } from '../../../firmware/telemetry/system-status.ts';

const NOW = Date.UTC(2025, 0, 1);
const fine = {
  mem: async () => ({ total: 1000, available: 400 }),
  cpuTemperature: async () => ({ main: 51.5, cores: [50, null], chipset: null }),
  networkStats: async () => [{ iface: 'wan0', operstate: 'up', rx_bytes: 10, tx_bytes: 20 }, { iface: 'lan0', operstate: 'down', rx_bytes: 0, tx_bytes: 0 }],
};

t.test('a status from the probes, with sessions and tunnels from their owners', async (t) => {
  const source = systemStatusSource({
    clock: () => NOW, probes: fine,
    sessions: () => ({ ikev2: 3, sstp: 1, l2tp: 0, pptp: 0 }),
    tunnels: () => [{ name: 'hq', state: 'up', rxBytes: 5, txBytes: 6 }],
  });
  const s = await source();
  t.match(s, {
    schema: 1, ts: '2025-01-01T00:00:00.000Z', uptimeSeconds: Number,
    memory: { totalBytes: 1000, usedBytes: 600 },
    temperatures: [{ name: 'cpu', celsius: 51.5 }, { name: 'core0', celsius: 50 }],
    interfaces: [{ name: 'wan0', rxBytes: 10, txBytes: 20, up: true }, { name: 'lan0', up: false }],
    sessions: { ikev2: 3, sstp: 1 },
    tunnels: [{ name: 'hq', state: 'up' }],
  });
  t.equal(s.load.length, 3);
  t.equal(s.temperatures.length, 2, 'missing readings left out');
});

t.test('the report is stamped when sampling starts, not when the slowest probe answers', async (t) => {
  let now = NOW;
  const slowMem = async () => { now += 700; return { total: 1000, available: 400 }; };
  const s = await systemStatusSource({ clock: () => now, probes: { ...fine, mem: slowMem } })();
  t.equal(s.ts, '2025-01-01T00:00:00.000Z');
});

t.test('no sensors, a failing probe, a hanging probe: an empty part, never a missing report', async (t) => {
  const source = systemStatusSource({
    probeTimeoutMs: 50,
    probes: {
      mem: () => new Promise(() => undefined),
      cpuTemperature: async () => ({ main: null, cores: [] }),
      networkStats: async () => Promise.reject(new Error('no /sys')),
    },
  });
  const started = Date.now();
  const s = await source();
  t.ok(Date.now() - started < 1000, 'bounded');
  t.same(s.temperatures, []);
  t.same(s.interfaces, []);
  t.same(s.memory, { totalBytes: 0, usedBytes: 0 });
  t.same(s.sessions, { ikev2: 0, sstp: 0, l2tp: 0, pptp: 0 });
  t.same(s.tunnels, []);
});

t.test('temperatures: only finite readings', async (t) => {
  t.same(temperatures({ main: Number.NaN, cores: [Number.POSITIVE_INFINITY, 40], chipset: 35 }), [{ name: 'core1', celsius: 40 }, { name: 'chipset', celsius: 35 }]);
});

t.test('bounded: a probe that throws synchronously falls back too', async (t) => {
  t.equal(await bounded(() => { throw new Error('x'); }, 50, 'fallback'), 'fallback');
  t.equal(await bounded(async () => 'value', 50, 'fallback'), 'value');
});

t.test('the real probes on this machine answer within their bound', async (t) => {
  const s = await systemStatusSource({ probeTimeoutMs: 5000 })();
  t.ok(s.memory.totalBytes > 0, 'memory read');
  t.ok(s.interfaces.some((i) => i.name === 'lo'), 'interfaces read');
  t.ok(Array.isArray(s.temperatures));
});

t.test('subsystems\' counters (limits firing) go into the status as their owners give them', async (t) => {
  const sstp = { refusedPerSource: 12, evictedOldest: 3, timedOut: 1, pressureEpisodes: 1 };
  const s = await systemStatusSource({ clock: () => NOW, probes: fine, counters: () => ({ sstp }) })();
  t.same(s.counters, { sstp });
  const none = await systemStatusSource({ clock: () => NOW, probes: fine })();
  t.notOk('counters' in none, 'left out when nobody reports any');
});
