import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemStatus } from '../supervisor/subsystem.ts';
import { loadAssets, serveAsset, type Asset } from './assets.ts';
import { HostAllowList } from './host-allow-list.ts';
import { httpsWithRedirect, type FrontServer } from './https-redirect.ts';

export interface ManagementAddress {
  readonly host: string;
  readonly port: number;
}

export interface WebOptions {
  readonly logger: Logger;
  /** The /healthz body, computed per request. */
  readonly health: () => Record<string, unknown>;
  /** A run-time override of the configured address (`postern run --management`). */
  readonly override?: ManagementAddress;
  /**
   * The gateway certificate, for `system.management.https` (made at first start by the PKI). `publicCa`:
   * from a CA browsers trust by themselves (ACME, imported), so HSTS is safe to send.
   */
  readonly tls?: () => GatewayTls;
  /** The control API, answering everything under /api/; its counters join the server's in status(). */
  readonly api?: { handles(path: string): boolean; handle(req: IncomingMessage, res: ServerResponse): Promise<void>; statusCounters?(): Readonly<Record<string, number>> };
  /** The box's addresses now, for the Host allow-list (node:os by default; tests give their own). */
  readonly interfaceAddresses?: () => string[];
  /** Milliseconds; tests shorten them. */
  readonly timeouts?: Partial<WebTimeouts>;
}

export interface GatewayTls {
  readonly cert: string;
  readonly key: string;
  readonly publicCa?: boolean;
}

export interface WebTimeouts {
  /** The whole header must arrive within this (slowloris). */
  readonly headersMs: number;
  /** The whole request, body included. */
  readonly requestMs: number;
  /**
   * How often Node looks for connections over those limits. Its default is 30 s, so a stalled
   * connection lived ~35 s instead of 10 (issue 15.9); 1 s makes the limits what they say.
   */
  readonly checkIntervalMs: number;
}

export const DEFAULT_WEB_TIMEOUTS: WebTimeouts = { headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 };

export const managementAddress = (config: PosternConfig, override?: ManagementAddress): ManagementAddress =>
  override ?? { host: config.system.management.listen, port: config.system.management.port };

/** The management HTTP server: /healthz and the web UI's files (the API arrives with the web UI issue). */
export class WebSubsystem implements Subsystem {
  readonly name = 'web';
  readonly #options: WebOptions;
  readonly #assets: Map<string, Asset> = loadAssets();
  #server: Server | FrontServer | undefined;
  /** The address the running server was asked for (port 0 stays 0 here, whatever was picked). */
  #wanted: ManagementAddress | undefined;
  #https = false;
  /** The served certificate is a public CA's (ACME, imported): browsers trust it by themselves. */
  #tlsPublicCa = false;
  /** `system.management.hsts`: the administrator asks for HSTS with Postern's own CA too. */
  #hstsOptIn = false;
  /** The HTTPS server behind the front one, while HTTPS is on: a new gateway certificate goes to it. */
  #tls: HttpsServer | undefined;
  #status: SubsystemStatus = { state: 'stopped' };
  readonly #hosts: HostAllowList;
  /** `misdirected`: requests refused for their Host (421). */
  readonly counters = { misdirected: 0 };

  constructor(options: WebOptions) {
    this.#options = options;
    this.#hosts = new HostAllowList(options.interfaceAddresses ? { interfaceAddresses: options.interfaceAddresses } : {});
  }

  /** `keepPort`: the port a server asked for port 0 got, bound again when only the scheme changes. */
  async start(config: PosternConfig, keepPort?: number): Promise<void> {
    const { host, port: wantedPort } = managementAddress(config, this.#options.override);
    const port = keepPort ?? wantedPort;
    this.#status = { state: 'starting' };
    const gateway = config.system.management.https ? this.#gatewayTls() : undefined;
    const https = gateway !== undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const t = { ...DEFAULT_WEB_TIMEOUTS, ...this.#options.timeouts };
    const limits = { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: t.checkIntervalMs };
    // HTTPS with the gateway's own certificate: the browser trusts it once the Postern CA is imported.
    // Plain HTTP on the same port is redirected to HTTPS (https-redirect.ts), so typing the bare address works.
    const tls = gateway ? createHttpsServer({ cert: gateway.cert, key: gateway.key, minVersion: 'TLSv1.2', handshakeTimeout: t.headersMs, ...limits }, handler) : undefined;
    const server: Server | FrontServer = tls ? httpsWithRedirect(tls, { headersMs: t.headersMs, limits, allowsHost: (h) => this.#hosts.allows(h) }) : createServer(limits, handler);
    this.#tls = tls;
    this.#https = https;
    this.#hstsOptIn = config.system.management.hsts === true;
    this.#hosts.configure(config, host);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.#status = { state: 'failed', detail: String(error) };
      throw error;
    }
    server.on('error', (error) => this.#options.logger.error('web server error', { error }));
    this.#server = server;
    this.#wanted = { host, port: wantedPort };
    const bound = server.address() as AddressInfo;
    this.#status = { state: 'running', detail: `${https ? 'https' : 'http'}://${bound.address}:${bound.port}` };
    this.#options.logger.info('web listening', { address: bound.address, port: bound.port, https });
  }

  /** The address changed: bind the new one first so a bad address leaves the old server running. */
  async reconfigure(next: PosternConfig): Promise<void> {
    const wanted = managementAddress(next, this.#options.override);
    // The names may change without the address (hostname, certificate names, the extra list).
    if (this.#server && this.#wanted) this.#hosts.configure(next, this.#wanted.host);
    this.#hstsOptIn = next.system.management.hsts === true;
    // Rolling back to the address still served (the failed move kept it) has nothing to do.
    if (this.#server && this.#wanted?.host === wanted.host && this.#wanted.port === wanted.port && this.#https === (next.system.management.https && this.#options.tls !== undefined)) return;
    const old = this.#server;
    const oldWanted = this.#wanted;
    this.#server = undefined;
    if (old && oldWanted?.host === wanted.host && oldWanted.port === wanted.port) {
      // Only HTTP ⇄ HTTPS on the same port: one port cannot be bound twice, so the old server stops
      // listening first. Its open connections live on a moment: the request that made this change is
      // one of them and still needs its answer. Should the new server fail, the transaction's
      // rollback starts the old scheme again (#server is unset).
      const bound = (old.address() as AddressInfo | null)?.port;
      old.close();
      setTimeout(() => old.closeAllConnections(), 2_000).unref();
      return this.start(next, wanted.port === 0 ? bound : undefined);
    }
    try {
      await this.start(next);
    } catch (error) {
      this.#server = old;
      this.#wanted = oldWanted;
      this.#status = { state: 'running', detail: 'kept the previous address' };
      throw error;
    }
    if (old) await closeServer(old);
  }

  /** The gateway certificate changed (re-issued for a new public name, renewed, imported): new connections get it. */
  reloadCertificate(): void {
    if (!this.#tls || !this.#options.tls) return;
    const gateway = this.#options.tls();
    this.#tls.setSecureContext({ cert: gateway.cert, key: gateway.key, minVersion: 'TLSv1.2' });
    this.#tlsPublicCa = gateway.publicCa === true;
  }

  /** Strict-Transport-Security on the answers: only over HTTPS, with a public CA's certificate or when asked. */
  get #hsts(): boolean {
    return this.#https && (this.#tlsPublicCa || this.#hstsOptIn);
  }

  /** The certificate to serve, or none: then plain HTTP, said in the log (the PKI could not be read or made). */
  #gatewayTls(): GatewayTls | undefined {
    if (!this.#options.tls) return undefined;
    try {
      const gateway = this.#options.tls();
      this.#tlsPublicCa = gateway.publicCa === true;
      return gateway;
    } catch (error) {
      this.#options.logger.warn('no gateway certificate: the management stays on plain HTTP', { error: String(error) });
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.#status = { state: 'stopping' };
    if (this.#server) await closeServer(this.#server);
    this.#server = undefined;
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return this.#status.state === 'running' ? { ...this.#status, counters: this.#counters() } : this.#status;
  }

  /** The server's counters and the API's (prefixed `api.`), for /healthz and the MQTT status. */
  #counters(): Record<string, number> {
    const api = Object.entries(this.#options.api?.statusCounters?.() ?? {}).map(([k, v]) => [`api.${k}`, v] as const);
    return { ...this.counters, ...Object.fromEntries(api) };
  }

  /** For tests and logs: where it listens now. */
  address(): AddressInfo | undefined {
    return (this.#server?.address() as AddressInfo | null) ?? undefined;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (this.#hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    // Before any routing: setup, login, the API and the files alike (issue 15.8).
    if (!this.#hosts.allows(req.headers.host)) {
      this.counters.misdirected++;
      res.setHeader('Connection', 'close');
      return sendJson(res, 421, {
        error: { code: MISDIRECTED, message: `this gateway does not answer to the name '${String(req.headers.host).slice(0, 100)}'; use its address or hostname, or add the name to system.management.allowedHosts` },
      });
    }
    const api = this.#options.api;
    if (api?.handles(path)) return void api.handle(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return sendJson(res, 200, this.#options.health());
    const asset = this.#assets.get(path);
    if (!asset) return sendJson(res, 404, { error: 'not found' });
    serveAsset(req, res, asset);
  }
}

/** The stable code of the 421 answer (the API's codes are in control/api-error.ts; this one is the server's). */
export const MISDIRECTED = 'POSTERN_ERR_MISDIRECTED_HOST';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function closeServer(server: Server | FrontServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
