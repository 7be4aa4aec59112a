// Issue 15.9: an aborted upload was logged at error level as a 500 (2,000 lines from one slowloris run), and
// slow connections lived ~35 s because Node looked for expired header/request timeouts only every 30 s.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { startWeb } from './web-harness.ts';

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

async function waitFor(what: string, ms: number, check: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('issue 15.9: an aborted body yields no error-level log and increments a counter shown in /healthz', async (t) => {
  const h = await startWeb(t);
  // Routes that read the body before answering (setup is done, so only the login does, three times).
  for (const path of ['/api/v1/login', '/api/v1/login', '/api/v1/login']) {
    const s = await open(h.port);
    s.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"password":"half`);
    await new Promise((r) => setTimeout(r, 50));
    s.destroy();
  }
  await waitFor('three aborted requests', 3000, () => h.api.counters.aborted === 3);
  await new Promise((r) => setTimeout(r, 100));
  t.same(h.records.filter((r) => r.level === 'error'), [], 'nothing at error level');
  t.equal(h.api.counters.errors, 0, 'no internal error counted');
  const debug = h.records.filter((r) => r.msg === 'API request aborted by the client');
  t.equal(debug.length, 3, 'one debug line per aborted request');
  t.ok(debug.every((r) => r.level === 'debug'));
  const health = (await h.call('GET', '/healthz')).json();
  t.equal(health.subsystems.web.counters['api.aborted'], 3, 'the counter in /healthz (and so the MQTT status)');
});

t.test('issue 15.9: a stalled header connection is closed within a few seconds of headersTimeout', async (t) => {
  const headersMs = 1000;
  const h = await startWeb(t, { timeouts: { headersMs, requestMs: 2000 } });
  const s = await open(h.port);
  const start = performance.now();
  s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n`); // and never the blank line
  const closed = new Promise<number>((resolve) => s.once('close', () => resolve(performance.now() - start)));
  s.resume();
  const limit = headersMs + 2500;
  const lived = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 12_000))]);
  s.destroy();
  t.ok(lived < limit, `closed after ${lived.toFixed(0)} ms (headersTimeout ${headersMs} ms, limit ${limit} ms)`);
  t.ok(lived >= headersMs - 50, 'not before the timeout');
});

t.test('issue 15.9: the defaults check timeouts every second, not every 30', async (t) => {
  const h = await startWeb(t);
  t.ok(h.web.address(), 'listening');
  const { DEFAULT_WEB_TIMEOUTS } = await import('../../../firmware/web/web-subsystem.ts');
  t.same(DEFAULT_WEB_TIMEOUTS, { headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 });
});
