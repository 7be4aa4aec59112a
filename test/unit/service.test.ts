import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ConfigStore } from '../../firmware/config/store.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { createLogger, memorySink } from '../../firmware/log/logger.ts';
import { Service } from '../../firmware/service.ts';
import { tempDir } from '../helpers/tmp.ts';

const withPort = (c: PosternConfig, port: number): PosternConfig => ({
  ...c,
  system: { ...c.system, management: { ...c.system.management, listen: '127.0.0.1', port } },
});

/** A port that is free now (bound and released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startService(t: Parameters<typeof tempDir>[0]) {
  const { sink, records } = memorySink();
  const stateDir = tempDir(t);
  const service = await Service.start({ stateDir, logger: createLogger({ sink }), management: { host: '127.0.0.1', port: 0 }, only: ['web'] });
  t.teardown(() => service.stop());
  return { service, records, stateDir };
}

t.test('health reports revision, subsystems and listener availability', async (t) => {
  const { service } = await startService(t);
  const health = service.health();
  t.equal(health['status'], 'ok');
  t.equal(health['configRevision'], 1);
  t.match((health['subsystems'] as Record<string, unknown>)['web'], { state: 'running', detail: `https://127.0.0.1:${service.web.address()?.port}`, counters: { misdirected: 0, 'api.aborted': 0, 'api.login.checks': 0 } });
  t.match(health['listeners'], { pptp: 'disabled' });
});


t.test('apply moves the web server; a failing apply rolls back and keeps the old revision', async (t) => {
  const { sink, records } = memorySink();
  const stateDir = tempDir(t);
  const first = await freePort();
  // Start on a configured port (no override) so that config changes move it: an ephemeral one seeded
  // in the store, never the default 8080 that `make run` holds on a developer's box (issue 15.12).
  const seed = await ConfigStore.open(join(stateDir, 'config'), { logger: createLogger({ sink: () => {} }) });
  const seeded = withPort(seed.current().config, await freePort());
  seeded.system.management.https = false; // plain HTTP below (a fresh box serves HTTPS)
  await seed.write(seeded, { author: 'test' });
  const boot = await Service.start({ stateDir, logger: createLogger({ sink }), only: ['web'] });
  t.not(boot.web.address()?.port, 8080, 'started on the seeded port');
  const moved = await boot.applyConfig(withPort(boot.store.current().config, first), { author: 'test' });
  t.ok(moved.ok, 'applied');
  t.equal(boot.web.address()?.port, first, 'the web server moved to the new port');
  t.equal(boot.store.current().revision, 3);
  t.equal((await fetch(`http://127.0.0.1:${first}/healthz`)).status, 200);

  // Occupy a port, then ask to move there: the bind fails, the transaction rolls back.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const taken = (blocker.address() as { port: number }).port;
  const result = await boot.applyConfig(withPort(boot.store.current().config, taken), { author: 'test' });
  t.notOk(result.ok, 'refused');
  if (!result.ok) t.equal(result.stage, 'apply');
  t.equal(boot.store.current().revision, 3, 'nothing committed');
  t.equal(boot.web.address()?.port, first, 'still serving on the old port');
  t.equal((await fetch(`http://127.0.0.1:${first}/healthz`)).status, 200);
  t.ok(records.some((r) => r.level === 'error' || r.level === 'warn'), 'the failure was logged');
  await boot.stop();
});

t.test('a fresh box serves HTTPS with the gateway certificate, redirects plain HTTP, sends HSTS only when asked, and can go back to HTTP', async (t) => {
  const { service, stateDir } = await startService(t);
  const { readFileSync } = await import('node:fs');
  const https = await import('node:https');
  const http = await import('node:http');
  const port = service.web.address()?.port;
  const ca = readFileSync(join(stateDir, 'pki', 'ca.pem'), 'utf8');
  const secure = () => new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'postern.local', checkServerIdentity: () => undefined }, (m) => {
      let body = '';
      m.on('data', (d: Buffer) => (body += d.toString()));
      m.on('end', () => resolve({ status: m.statusCode ?? 0, hsts: m.headers['strict-transport-security'] as string | undefined, body }));
    }).on('error', reject);
  });
  const plain = () => new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/healthz' }, (m) => {
      m.resume();
      resolve({ status: m.statusCode ?? 0, location: m.headers.location });
    }).on('error', reject);
  });
  t.equal(service.store.current().config.system.management.https, true, 'on in the first configuration');
  const first = await secure();
  t.equal(first.status, 200, 'served over TLS, trusted through the Postern CA');
  t.match(JSON.parse(first.body), { status: 'ok' });
  t.equal(first.hsts, undefined, 'no HSTS with the built-in CA\'s certificate');
  t.same(await plain(), { status: 308, location: `https://127.0.0.1:${port}/healthz` }, 'plain HTTP redirected on the same Host and port');
  const management = () => service.store.current().config.system.management;
  const cfg = service.store.current().config;
  t.ok((await service.applyConfig({ ...cfg, system: { ...cfg.system, management: { ...management(), hsts: true } } }, { author: 'test' })).ok);
  t.match((await secure()).hsts, /max-age=31536000/, 'HSTS once the administrator asks for it');
  const now = service.store.current().config;
  t.ok((await service.applyConfig({ ...now, system: { ...now.system, management: { ...management(), https: false } } }, { author: 'test' })).ok);
  t.equal((await plain()).status, 200, 'off: plain HTTP served');
});
