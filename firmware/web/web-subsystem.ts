import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemStatus } from '../supervisor/subsystem.ts';
import { loadAssets, type Asset } from './assets.ts';

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
  /** The gateway certificate, for `system.management.https` (made at first boot by the PKI). */
  readonly tls?: () => { readonly cert: string; readonly key: string };
  /** The control API, answering everything under /api/. */
  readonly api?: { handles(path: string): boolean; handle(req: IncomingMessage, res: ServerResponse): Promise<void> };
}

export const managementAddress = (config: PosternConfig, override?: ManagementAddress): ManagementAddress =>
  override ?? { host: config.system.management.listen, port: config.system.management.port };

/** The management HTTP server: /healthz and the web UI's files (the API arrives with the web UI issue). */
export class WebSubsystem implements Subsystem {
  readonly name = 'web';
  readonly #options: WebOptions;
  readonly #assets: Map<string, Asset> = loadAssets();
  #server: Server | undefined;
  /** The address the running server was asked for (port 0 stays 0 here, whatever was picked). */
  #wanted: ManagementAddress | undefined;
  #https = false;
  #status: SubsystemStatus = { state: 'stopped' };

  constructor(options: WebOptions) {
    this.#options = options;
  }

  async start(config: PosternConfig): Promise<void> {
    const { host, port } = managementAddress(config, this.#options.override);
    this.#status = { state: 'starting' };
    const https = config.system.management.https && this.#options.tls !== undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    // HTTPS with the gateway's own certificate: the browser trusts it once the Postern CA is imported.
    const server: Server = https && this.#options.tls ? createHttpsServer({ ...this.#options.tls(), minVersion: 'TLSv1.2' }, handler) : createServer(handler);
    this.#https = https;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
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
    this.#wanted = { host, port };
    const bound = server.address() as AddressInfo;
    this.#status = { state: 'running', detail: `${https ? 'https' : 'http'}://${bound.address}:${bound.port}` };
    this.#options.logger.info('web listening', { address: bound.address, port: bound.port, https });
  }

  /** The address changed: bind the new one first so a bad address leaves the old server running. */
  async reconfigure(next: PosternConfig): Promise<void> {
    const wanted = managementAddress(next, this.#options.override);
    // Rolling back to the address still served (the failed move kept it) has nothing to do.
    if (this.#server && this.#wanted?.host === wanted.host && this.#wanted.port === wanted.port && this.#https === (next.system.management.https && this.#options.tls !== undefined)) return;
    const old = this.#server;
    const oldWanted = this.#wanted;
    this.#server = undefined;
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

  async stop(): Promise<void> {
    this.#status = { state: 'stopping' };
    if (this.#server) await closeServer(this.#server);
    this.#server = undefined;
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    return this.#status;
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
    if (this.#https) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    const api = this.#options.api;
    if (api?.handles(path)) return void api.handle(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return sendJson(res, 200, this.#options.health());
    const asset = this.#assets.get(path);
    if (!asset) return sendJson(res, 404, { error: 'not found' });
    res.writeHead(200, { 'Content-Type': asset.contentType, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
