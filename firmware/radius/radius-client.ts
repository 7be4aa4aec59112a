/**
 * The RADIUS client's shell: one UDP socket (an ephemeral port, IPv4), a TLS connection per RadSec
 * server (`radsec-link.ts`, RFC 6614) and one timer around
 * `RadiusClientEngine`. Requests are promises of the engine's `RadiusResult`; no decision is made
 * here. Secrets and passwords reach the engine as `Secret`s and are never logged.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import { RadiusClientEngine, type RadiusAction, type RadiusClientOptions, type RadiusEvent, type RadiusResult, type RequestId } from './client-engine.ts';
import type { RadiusAttribute } from './packet.ts';
import { replyMessageOf } from './reply-message.ts';
import { Attr, textOf } from './attributes.ts';
import type { ServerCounters } from './server-state.ts';
import { RadsecLink, type RadsecStatus, type RadsecTls } from './radsec-link.ts';

export type RadiusClientShellOptions = Omit<RadiusClientOptions, 'random'> & {
  readonly log?: Logger;
  /** Told when a server is marked dead or comes back. */
  readonly onServerState?: (server: string, up: boolean, why: string) => void;
  /** Local address to send from (default: any). */
  readonly bindAddress?: string;
  /** RadSec servers' TLS settings, by server name (servers with transport 'tls'). */
  readonly tls?: Readonly<Record<string, RadsecTls>>;
};

export const nodeRadiusRandom = { bytes: (n: number): Uint8Array => randomBytes(n), fraction: (): number => randomInt(0, 1 << 30) / (1 << 30) };

export class RadiusClient {
  readonly #engine: RadiusClientEngine;
  readonly #options: RadiusClientShellOptions;
  readonly #socket: Socket;
  /** RadSec servers' connections, by server name. */
  readonly #links = new Map<string, RadsecLink>();
  readonly #waiting = new Map<RequestId, (result: RadiusResult) => void>();
  #timer: NodeJS.Timeout | undefined;
  #nextId = 0;
  #closed = false;

  private constructor(options: RadiusClientShellOptions, socket: Socket) {
    this.#options = options;
    this.#engine = new RadiusClientEngine({ ...options, random: nodeRadiusRandom });
    this.#socket = socket;
    socket.on('message', (bytes, from) => this.#run({ type: 'RcvDatagram', address: from.address, port: from.port, bytes }));
    socket.on('error', (error) => options.log?.warn('RADIUS socket error', { error: error.message }));
    for (const server of options.servers) {
      if (server.transport !== 'tls') continue;
      const tls = options.tls?.[server.name];
      if (!tls) throw new RangeError(`RadSec server ${server.name} has no TLS settings`);
      this.#links.set(server.name, new RadsecLink({
        server: server.name, address: server.address, port: server.authPort, tls, ...(options.log ? { log: options.log } : {}),
        onPacket: (bytes) => this.#run({ type: 'RcvDatagram', address: server.address, port: server.authPort, bytes }),
        onDown: (why) => this.#run({ type: 'TransportDown', server: server.name, why }),
      }));
    }
  }

  static async open(options: RadiusClientShellOptions): Promise<RadiusClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RadiusClient(options, socket);
  }

  /** An Access-Request; `userPassword` makes it PAP (hidden per server, RFC 2865 §5.2). */
  authenticate(attributes: readonly RadiusAttribute[], userPassword?: Secret<Uint8Array>): Promise<RadiusResult> {
    return this.#request((id) => ({ type: 'CmdAccessRequest', id, attributes, ...(userPassword ? { userPassword } : {}) })).then((result) => {
      // The server's words to the user (why a login was refused, most often) are logged, never passed on.
      const message = 'packet' in result ? replyMessageOf(result.packet.attributes) : undefined;
      if (message !== undefined) this.#options.log?.info('RADIUS Reply-Message', { server: 'server' in result ? result.server : undefined, answer: result.outcome, user: textOf(attributes, Attr.UserName), message });
      return result;
    });
  }

  account(attributes: readonly RadiusAttribute[], delaySeconds = 0): Promise<RadiusResult> {
    return this.#request((id) => ({ type: 'CmdAccountingRequest', id, attributes, delaySeconds }));
  }

  /** Status-Server (RFC 5997): answered with Access-Accept ('accept') by a live server. */
  statusServer(): Promise<RadiusResult> {
    return this.#request((id) => ({ type: 'CmdStatusServer', id }));
  }

  /** Each server: alive, when it last answered (ms since the epoch), its counters; a RadSec server's connection. */
  servers(): Array<{ name: string; alive: boolean; lastAnswerAt?: number; counters: ServerCounters; radsec?: RadsecStatus }> {
    const counters = this.#engine.counters();
    const toEpoch = (at: number) => Math.round(Date.now() - (performance.now() - at));
    return this.#engine.serverStates().map((s) => {
      const { alive: _alive, ...c } = counters[s.name]!;
      const link = this.#links.get(s.name);
      return { name: s.name, alive: s.alive, ...(s.lastResponseAt !== undefined ? { lastAnswerAt: toEpoch(s.lastResponseAt) } : {}), counters: c, ...(link ? { radsec: link.status() } : {}) };
    });
  }

  /** The engine's counters per server, with a RadSec server's connection (radsecConnected 1/0, radsecConnects) for /healthz. */
  counters(): Record<string, ReturnType<RadiusClientEngine['counters']>[string] & { radsecConnected?: boolean; radsecConnects?: number }> {
    const counters: Record<string, ReturnType<RadiusClientEngine['counters']>[string] & { radsecConnected?: boolean; radsecConnects?: number }> = { ...this.#engine.counters() };
    for (const [name, link] of this.#links) {
      const c = counters[name];
      if (c) counters[name] = { ...c, radsecConnected: link.connected, radsecConnects: link.connects };
    }
    return counters;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket.close();
    for (const link of this.#links.values()) link.close();
    for (const done of this.#waiting.values()) done({ outcome: 'timeout', tried: [] });
    this.#waiting.clear();
  }

  #request(event: (id: RequestId) => RadiusEvent): Promise<RadiusResult> {
    if (this.#closed) return Promise.resolve({ outcome: 'timeout', tried: [] });
    const id = this.#nextId++;
    const result = new Promise<RadiusResult>((resolve) => this.#waiting.set(id, resolve));
    this.#run(event(id));
    return result;
  }

  #run(event: RadiusEvent): void {
    if (this.#closed) return;
    for (const action of this.#engine.handle(event, performance.now())) this.#act(action);
    clearTimeout(this.#timer);
    const next = this.#engine.nextTimeout();
    if (next !== undefined) this.#timer = setTimeout(() => this.#run({ type: 'Timeout' }), Math.max(0, next - performance.now()));
  }

  #act(action: RadiusAction): void {
    switch (action.type) {
      case 'Send': {
        const link = this.#links.get(action.server);
        if (link) link.send(action.bytes);
        else this.#socket.send(action.bytes, action.port, action.address);
        break;
      }
      case 'Complete': {
        const done = this.#waiting.get(action.id);
        this.#waiting.delete(action.id);
        done?.(action.result);
        break;
      }
      case 'ServerDown':
      case 'ServerUp': {
        const up = action.type === 'ServerUp';
        this.#options.log?.[up ? 'info' : 'warn'](`RADIUS server ${action.server} ${up ? 'up' : 'down'}`, { server: action.server, why: action.why });
        this.#options.onServerState?.(action.server, up, action.why);
        break;
      }
      case 'Log':
        this.#options.log?.[action.level](action.msg);
        break;
    }
  }
}
