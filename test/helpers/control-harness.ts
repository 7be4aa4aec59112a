// The control API over loopback on an ephemeral port, with a real store in a temp dir and stand-ins for
// everything outside the configuration (sessions, ping, interfaces): for tests of config routes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ConfigStore } from '../../firmware/config/store.ts';
import { applyConfig } from '../../firmware/config/transaction.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import type { ApiContext } from '../../firmware/control/api-context.ts';
import type { InterfaceInfo } from '../../firmware/control/system-interfaces.ts';
import { ControlApi } from '../../firmware/control/control-api.ts';
import type { ProblemFilter, ProblemRing } from '../../firmware/doctor/problem-ring.ts';
import { LogRing } from '../../firmware/log/log-ring.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { loadOrCreatePki } from '../../firmware/pki/pki-store.ts';
import { tempDir } from './tmp.ts';

export const HARNESS_ADMIN = 'Tr0ub4dor-and-3';

export interface ControlHarness {
  readonly api: ControlApi;
  readonly store: ConfigStore;
  readonly logs: LogRing;
  readonly stateDir: string;
  /** A request with the admin session; `body` a value (sent as JSON) or raw text. */
  call(method: string, path: string, body?: unknown, options?: { raw?: boolean }): Promise<{ status: number; json: any; text: string }>;
}

export interface HarnessOptions {
  /** The box's network interfaces as the API sees them (none by default). */
  readonly interfaces?: InterfaceInfo[];
  /** More of the first-boot setup's body than the password (the public identity, issue 17). */
  readonly setup?: Record<string, unknown>;
  /** Failed connection attempts the API lists (the connection doctor, issue 17). */
  readonly problems?: ProblemRing;
  /** What /api/v1/status answers (the subsystems' states); `{status: 'ok'}` by default. */
  readonly status?: () => Record<string, unknown>;
}

/** Set up, logged in as the administrator. */
export async function controlHarness(t: { teardown(fn: () => void): void }, adjust: (c: PosternConfig) => void = () => {}, options: HarnessOptions = {}): Promise<ControlHarness> {
  const dir = tempDir(t, 'postern-api-');
  const logs = new LogRing();
  const logger = createLogger({ sink: (r) => logs.push(r), level: 'debug' });
  const store = await ConfigStore.open(join(dir, 'config'), { logger });
  const config = defaultConfig();
  adjust(config);
  await store.write(config, { author: 'test' });
  const ctx: ApiContext = {
    store, logger, stateDir: dir,
    apply: (next, meta) => applyConfig(store, next, [], meta),
    status: options.status ?? (() => ({ status: 'ok' })),
    sessions: () => [],
    disconnect: () => false,
    pki: () => loadOrCreatePki(dir, store.current().config.certificates, logger),
    logs: () => logs.records(),
    ...(options.problems ? { problems: (filter: ProblemFilter) => options.problems!.list(filter) } : {}),
    interfaces: () => options.interfaces ?? [],
    siteStates: () => [],
    ping: async (_host, count) => ({ sent: count, received: count, output: '' }),
    now: () => Date.now(),
  };
  const api = new ControlApi(ctx);
  const server = createServer((req, res) => void api.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.close();
    server.closeAllConnections();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let headers: Record<string, string> = {};
  const call: ControlHarness['call'] = async (method, path, body, options = {}) => {
    const text = body === undefined ? undefined : options.raw ? String(body) : JSON.stringify(body);
    const res = await fetch(`${base}${path}`, { method, headers: { ...(text !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(text !== undefined ? { body: text } : {}) });
    const got = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(got);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text: got };
  };
  await call('POST', '/api/v1/setup', { ...options.setup, password: HARNESS_ADMIN });
  const login = await fetch(`${base}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: HARNESS_ADMIN }) });
  const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
  headers = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '', 'x-csrf-token': csrf };
  return { api, store, logs, stateDir: dir, call };
}
