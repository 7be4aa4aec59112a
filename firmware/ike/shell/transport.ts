import { createSocket, type Socket } from 'node:dgram';
import type { Endpoint } from '../engine/types.ts';

/**
 * Where IKE packets come from and go to: UDP 500, and UDP 4500 with the non-ESP marker
 * (RFC 3948 §2.2) that the transport adds and removes, so the engine only sees IKE messages.
 */
export interface IkeTransport {
  send(packet: Uint8Array, from: Endpoint, to: Endpoint): void;
  close(): Promise<void>;
}

export type IkeReceiver = (packet: Uint8Array, from: Endpoint, to: Endpoint) => void;

export const IKE_PORT = 500;
export const NAT_T_PORT = 4500;
const NON_ESP_MARKER = new Uint8Array(4);

/** Counters for what arrived on the sockets and was not IKE. */
export interface TransportCounters {
  keepalives: number;
  espWithoutDriver: number;
  short: number;
}

/** Both ports on node:dgram sockets: for when no data-plane driver owns UDP 4500. */
export class DgramTransport implements IkeTransport {
  readonly counters: TransportCounters = { keepalives: 0, espWithoutDriver: 0, short: 0 };
  readonly #sockets = new Map<number, Socket>();

  private constructor() {}

  static async open(address: string, receive: IkeReceiver, ports: readonly number[] = [IKE_PORT, NAT_T_PORT]): Promise<DgramTransport> {
    const t = new DgramTransport();
    try {
      for (const port of ports) {
        const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
        socket.on('message', (msg, rinfo) => t.#received(msg, { address: rinfo.address, port: rinfo.port }, { address, port }, receive));
        socket.on('error', () => { /* reported by the failed send or bind */ });
        await new Promise<void>((done, fail) => {
          socket.once('error', fail);
          socket.bind(port, address, () => {
            socket.off('error', fail);
            done();
          });
        });
        t.#sockets.set(port, socket);
      }
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  #received(msg: Buffer, from: Endpoint, to: Endpoint, receive: IkeReceiver): void {
    if (to.port !== NAT_T_PORT) return receive(msg, from, to);
    if (msg.length === 1 && msg[0] === 0xff) {
      this.counters.keepalives++;
      return;
    }
    if (msg.length < 4) {
      this.counters.short++;
      return;
    }
    if (msg.readUInt32BE(0) !== 0) {
      this.counters.espWithoutDriver++; // ESP belongs to the data plane, never to JavaScript
      return;
    }
    receive(msg.subarray(4), from, to);
  }

  send(packet: Uint8Array, from: Endpoint, to: Endpoint): void {
    const socket = this.#sockets.get(from.port);
    if (!socket) return;
    const data = from.port === NAT_T_PORT ? [NON_ESP_MARKER, packet] : [packet];
    socket.send(data, to.port, to.address);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sockets.values()].map((s) => new Promise<void>((done) => s.close(() => done()))));
    this.#sockets.clear();
  }
}
