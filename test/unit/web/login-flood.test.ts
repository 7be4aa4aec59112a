// Issue 15.4: password checks ran scryptSync on the event loop; 16 parallel wrong logins pushed /healthz to a
// median of 599 ms. Here 32 clients keep wrong logins in flight against the real server while /healthz is
// timed: its 99th percentile must stay under 50 ms.
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { startWeb, type WebHarness } from './web-harness.ts';

const CLIENTS = 32;
const FLOOD_MS = 4000;
const P99_LIMIT_MS = 50;
/**
 * The bound is 50 ms on a quiet box. On a box other work loads (CI, other test runs), the idle server's
 * own p99 is measured first over the same time, and what it exceeds 5 ms by is added: the flood itself
 * must still cost the 99th percentile no more than 50 ms. (The code as it was: seconds, whatever the load.)
 */
const limitFor = (idle: Latencies) => P99_LIMIT_MS + Math.max(0, idle.p99 - 5);

/**
 * The attackers run in a worker thread, as another host would: their own client work must not be what
 * slows the server's event loop (only what the server does for them counts).
 */
const ATTACKERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { request, Agent } = require('node:http');
const { port, clients, until } = workerData;
const answers = {};
const login = (i, agent) => new Promise((resolve) => {
  const body = JSON.stringify({ password: 'guess-' + i + '-' + Math.random() });
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/login', localAddress: '127.0.0.' + (2 + i), agent,
    headers: { host: '127.0.0.1:' + port, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', () => resolve(0));
  req.end(body);
});
const client = async (i) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  while (Date.now() < until) {
    const status = await login(i, agent);
    answers[status] = (answers[status] || 0) + 1;
  }
  agent.destroy();
};
Promise.all(Array.from({ length: clients }, (_, i) => client(i))).then(() => parentPort.postMessage(answers));
`;

interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/** /healthz timed one request at a time, every 10 ms, until `until`. */
async function sample(h: WebHarness, until: number): Promise<Latencies> {
  const latencies: number[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  while (Date.now() < until) {
    const start = performance.now();
    const r = await h.call('GET', '/healthz', { agent });
    if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
    latencies.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, 10));
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Infinity;
  return { p50: at(0.5), p99: at(0.99), samples: latencies.length };
}

/** 32 sources (127.0.0.2 …) each keeping one wrong login in flight; /healthz timed meanwhile. */
async function flood(h: WebHarness): Promise<Latencies & { answers: Map<number, number> }> {
  const until = Date.now() + FLOOD_MS;
  const worker = new Worker(ATTACKERS, { eval: true, workerData: { port: h.port, clients: CLIENTS, until } });
  const attacked = new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200)); // the flood is under way
  const latencies = await sample(h, until);
  const answers = new Map(Object.entries(await attacked).map(([k, v]) => [Number(k), v]));
  await worker.terminate();
  return { ...latencies, answers };
}

const idle = (h: WebHarness) => sample(h, Date.now() + FLOOD_MS - 200);

const report = (base: Latencies, r: Awaited<ReturnType<typeof flood>>) =>
  `idle p50 ${base.p50.toFixed(1)} ms, p99 ${base.p99.toFixed(1)} ms; flood p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms over ${r.samples} samples; answers ${JSON.stringify(Object.fromEntries(r.answers))}`;

t.test('issue 15.4: /healthz stays under 50 ms (p99) while 32 sources flood the login', async (t) => {
  const h = await startWeb(t);
  const base = await idle(h);
  const r = await flood(h);
  t.comment(report(base, r));
  t.ok(r.samples >= 80, 'enough samples');
  t.ok(r.p99 < limitFor(base), `p99 ${r.p99.toFixed(1)} ms < ${limitFor(base).toFixed(1)} ms`);
  const login = h.api.login.counters;
  t.ok((login['checks'] ?? 0) >= 5, 'passwords were really checked');
  t.ok((r.answers.get(429) ?? 0) + (r.answers.get(503) ?? 0) > 0, 'the rest were refused quickly');
  t.notOk(r.answers.has(500), 'no internal errors');
});

t.test('issue 15.4: /healthz stays under 50 ms (p99) while every login is hashed (no limits to hide behind)', async (t) => {
  // Limits as good as off, so every request reaches scrypt: only hashing off the event loop keeps /healthz fast.
  const off = { threshold: 1e9, baseMs: 1, maxMs: 1 };
  const h = await startWeb(t, { login: { globalRate: 1e6, globalBurst: 1e6, queue: CLIENTS, limiter: { sources: { policy: off }, accounts: { policy: off } } } });
  const base = await idle(h);
  const r = await flood(h);
  t.comment(report(base, r));
  t.ok(r.p99 < limitFor(base), `p99 ${r.p99.toFixed(1)} ms < ${limitFor(base).toFixed(1)} ms`);
  t.ok((h.api.login.counters['checks'] ?? 0) >= 20, `${h.api.login.counters['checks']} passwords checked during the flood`);
  t.equal(r.answers.get(401) ?? 0, h.api.login.counters['checks'], 'each check answered 401');
});
