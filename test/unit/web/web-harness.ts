// The management server as the service runs it (WebSubsystem + ControlApi, a real configuration store in a
// temp dir) on 127.0.0.1 port 0, with raw HTTP so tests choose the Host header and the source address.
import { request, type Agent } from 'node:http';
import { join } from 'node:path';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { applyConfig } from '../../../firmware/config/transaction.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import type { ApiContext } from '../../../firmware/control/api-context.ts';
import { ControlApi } from '../../../firmware/control/control-api.ts';
import type { LoginGuardOptions } from '../../../firmware/control/login-guard.ts';
import { hashPassword } from '../../../firmware/control/password-hash.ts';
import { createLogger, memorySink, type LogRecord } from '../../../firmware/log/logger.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { WebSubsystem, type WebTimeouts } from '../../../firmware/web/web-subsystem.ts';
import { tempDir } from '../../helpers/tmp.ts';

export const ADMIN = 'Tr0ub4dor-and-3';

export interface WebHarness {
  readonly port: number;
  readonly web: WebSubsystem;
  readonly api: ControlApi;
  readonly store: ConfigStore;
  readonly records: LogRecord[];
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
}

export interface CallOptions {
  readonly host?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The client's source address (any of 127.0.0.0/8 reaches a server on 127.0.0.1). */
  readonly localAddress?: string;
  readonly agent?: Agent;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): any;
}

export interface HarnessOptions {
  /** Set the admin password (as after first-boot setup); false leaves setup to the test. */
  readonly adminSet?: boolean;
  readonly login?: LoginGuardOptions;
  readonly timeouts?: Partial<WebTimeouts>;
  readonly interfaceAddresses?: () => string[];
  readonly config?: (c: PosternConfig) => void;
}

export async function startWeb(t: { teardown(fn: () => unknown): void }, options: HarnessOptions = {}): Promise<WebHarness> {
  const dir = tempDir(t, 'postern-web-');
  const memory = memorySink();
  const logger = createLogger({ sink: memory.sink, level: 'debug' });
  const store = await ConfigStore.open(join(dir, 'config'), { logger });
  const config = defaultConfig();
  if (options.adminSet !== false) config.admin.passwordHash = hashPassword(ADMIN);
  options.config?.(config);
  await store.write(config, { author: 'test' });
  const ctx: ApiContext = {
    store, logger: logger.child('api'), stateDir: dir,
    apply: (next, meta) => applyConfig(store, next, [], meta),
    status: () => ({ status: 'ok' }),
    sessions: () => [],
    disconnect: () => false,
    pki: () => loadOrCreatePki(dir, store.current().config.certificates, logger),
    logs: () => memory.records,
    interfaces: () => [],
    siteStates: () => [],
    ping: async (_host, count) => ({ sent: count, received: count, output: '' }),
    now: Date.now,
  };
  const api = new ControlApi(ctx, options.login ? { login: options.login } : {});
  const web: WebSubsystem = new WebSubsystem({
    logger: logger.child('web'),
    // As the service's: each subsystem's status, with its counters.
    health: () => ({ status: 'ok', subsystems: { web: web.status() } }),
    api,
    override: { host: '127.0.0.1', port: 0 },
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    interfaceAddresses: options.interfaceAddresses ?? (() => ['127.0.0.1', '::1', '192.0.2.2', 'fe80::1%eth0']),
  });
  await web.start(store.current().config);
  t.teardown(() => web.stop());
  const port = web.address()?.port ?? 0;
  const call = (method: string, path: string, o: CallOptions = {}) => rawCall(port, method, path, o);
  return { port, web, api, store, records: memory.records, call };
}

function rawCall(port: number, method: string, path: string, o: CallOptions): Promise<Answer> {
  const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  const headers: Record<string, string> = { host: o.host ?? `127.0.0.1:${port}`, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...o.headers };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.agent ? { agent: o.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
