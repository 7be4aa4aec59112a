/**
 * RADIUS dynamic authorization in the running service (RFC 5176, issue 21), the shell around
 * `DasEngine`: one UDP socket on `radius.dynamicAuthorization.listen` (the LAN address by default)
 * and port (3799), datagrams in, answers out; the engine's Disconnect / Change actions
 * applied to every protocol's live sessions (`sessions`) before the ACK leaves. Secrets stay in
 * `Secret`s; counters under `das.` in the status.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { DasEngine, type DasAction } from './das-engine.ts';
import type { DasSessionHandle } from './das-sessions.ts';

export interface DasSubsystemOptions {
  readonly logger: Logger;
  /** Every protocol's live sessions now. */
  readonly sessions: () => readonly DasSessionHandle[];
  /** The box's IPv4 addresses (a request's NAS-IP-Address must be one). */
  readonly nasAddresses: () => readonly string[];
  /** Overrides the configured port (tests: 0, an ephemeral one). */
  readonly port?: number;
}

export const dasListenAddress = (config: PosternConfig): string => config.radius?.dynamicAuthorization?.listen ?? config.system.lan.address.split('/')[0]!;

export class DasSubsystem implements Subsystem {
  readonly name = 'radius-das';
  readonly #options: DasSubsystemOptions;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: { socket: Socket; engine: DasEngine } | undefined;
  /** The sessions as the engine saw them for the request being handled. */
  #snapshot = new Map<string, DasSessionHandle>();

  constructor(options: DasSubsystemOptions) {
    this.#options = options;
  }

  /** Where it listens (tests bind port 0). */
  address(): { address: string; port: number } | undefined {
    const a = this.#running?.socket.address();
    return a && { address: a.address, port: a.port };
  }

  async start(config: PosternConfig): Promise<void> {
    const settings = config.radius?.dynamicAuthorization;
    if (!settings?.enabled) return void (this.#status = { state: 'stopped' });
    this.#status = { state: 'starting' };
    const log = this.#options.logger;
    const engine = new DasEngine({
      clients: settings.clients.map((c) => ({ name: c.name, address: c.address, secret: new Secret<Uint8Array>(Buffer.from(c.secret, 'utf8')) })),
      nasIdentifier: config.radius?.nasIdentifier ?? config.system.hostname,
      nasAddresses: () => this.#options.nasAddresses(),
      sessions: () => {
        const list = this.#options.sessions();
        this.#snapshot = new Map(list.map((s) => [s.id, s]));
        return list;
      },
    });
    const socket = createSocket('udp4');
    const host = dasListenAddress(config);
    const port = this.#options.port ?? settings.port;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      this.#status = { state: 'unavailable', detail: `cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}` };
      log.error('RADIUS dynamic authorization is not available', { detail: this.#status.detail });
      return;
    }
    socket.on('message', (bytes, from) => {
      for (const action of engine.handle({ type: 'RcvDatagram', address: from.address, port: from.port, bytes }, Date.now())) this.#act(socket, action);
    });
    socket.on('error', (error) => log.warn('RADIUS dynamic authorization socket error', { error: error.message }));
    this.#running = { socket, engine };
    const bound = socket.address();
    this.#status = { state: 'running', detail: `UDP ${bound.address}:${bound.port}, ${settings.clients.length} client(s)` };
    log.info('RADIUS dynamic authorization listening', { address: bound.address, port: bound.port, clients: settings.clients.map((c) => c.name) });
  }

  #act(socket: Socket, action: DasAction): void {
    switch (action.type) {
      case 'Send':
        socket.send(action.bytes, action.port, action.address);
        return;
      case 'Disconnect':
        for (const id of action.sessions) this.#snapshot.get(id)?.end(`disconnected by the RADIUS server (Disconnect-Request from ${action.client})`);
        return;
      case 'Change':
        for (const id of action.sessions) this.#snapshot.get(id)?.change(action.change);
        return;
      case 'Log':
        this.#options.logger[action.level](action.msg, action.fields);
        return;
    }
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    await this.stop();
    await this.start(next);
  }

  async stop(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    this.#snapshot.clear();
    if (r) await new Promise<void>((resolve) => r.socket.close(() => resolve()));
    this.#status = { state: 'stopped' };
  }

  status(): SubsystemStatus {
    const engine = this.#running?.engine;
    return engine ? { ...this.#status, counters: Object.fromEntries(Object.entries(engine.counters()).map(([k, v]) => [`das.${k}`, v])) } : this.#status;
  }
}

export function dasSpec(create: () => DasSubsystem): SubsystemSpec {
  return {
    name: 'radius-das',
    wanted: (c) => c.radius?.dynamicAuthorization?.enabled === true,
    slice: (c) => ({ das: c.radius?.dynamicAuthorization, nas: c.radius?.nasIdentifier, hostname: c.system.hostname, lan: c.system.lan.address }),
    create,
  };
}
