/*
 * The two transports an SSTP call runs on (SstpTransport): Node's TLS socket (the JavaScript path),
 * or a call whose TLS the driver runs (issue 23, firmware/dataplane/native-sstp.ts), whose IP can
 * move into C once the session's network is up. Both only carry bytes; SstpConnection decides.
 */
import type { TLSSocket } from 'node:tls';
import type { NativeSstpCall, NativeSstpCallStats } from '../dataplane/native-sstp.ts';
import type { SstpConnection, SstpDriverPath, SstpTransport } from './sstp-connection.ts';

/** How long our last word (an HTTP error, Call Disconnect Ack) may take to drain before the socket goes. */
const DRAIN_MS = 2000;

/** Node's TLS socket. */
export function tlsSocketTransport(socket: TLSSocket): SstpTransport {
  socket.setNoDelay(true);
  return {
    peer: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    tlsVersion: () => socket.getProtocol() ?? undefined,
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    end: () => {
      socket.end();
      setTimeout(() => socket.destroy(), DRAIN_MS).unref();
    },
    destroy: () => socket.destroy(),
  };
}

/** The socket's events into the connection. */
export function feedFromTlsSocket(socket: TLSSocket, connection: SstpConnection): void {
  socket.on('data', (chunk: Buffer) => connection.receive(chunk));
  socket.on('error', (error) => connection.lost(`TLS error: ${error.message}`));
  socket.on('close', () => connection.closedByPeer());
}

/**
 * A call in the driver. `onRemoved` runs once, when the driver's call is gone (our close, the
 * drain's end, or the owner's `remove`); its owner reports the peer's end to the connection itself.
 */
export class NativeCallTransport implements SstpTransport, SstpDriverPath {
  readonly peer: { readonly address: string; readonly port: number };
  readonly #call: NativeSstpCall;
  readonly #onRemoved: () => void;
  #removed = false;
  #drain: NodeJS.Timeout | undefined;

  constructor(call: NativeSstpCall, peer: { readonly address: string; readonly port: number }, onRemoved: () => void) {
    this.#call = call;
    this.peer = peer;
    this.#onRemoved = onRemoved;
  }

  /** The call's data path is the transport itself (its methods, no object or closures per call: issue 23). */
  get driver(): SstpDriverPath {
    return this;
  }

  /** SstpDriverPath: the session's IP moves into the driver (again: the new sources); undefined, or why not. */
  start(spec: { readonly mtu: number; readonly sources: readonly string[] }): string | undefined {
    if (this.#removed) return 'the call is gone';
    try {
      this.#call.startData({ mtu: spec.mtu, sources: [...spec.sources] });
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** SstpDriverPath: what the driver carried for the session. */
  counters(): ReturnType<SstpDriverPath['counters']> {
    const ppp = this.#removed ? undefined : this.#call.stats()?.ppp;
    return ppp ? { bytesIn: Number(ppp.rxBytes), bytesOut: Number(ppp.txBytes), packetsIn: Number(ppp.rxPackets), packetsOut: Number(ppp.txPackets), dropSource: Number(ppp.dropSource) } : undefined;
  }

  get removed(): boolean {
    return this.#removed;
  }

  /** The driver's counters for the call (why it ended among them); undefined once removed. */
  stats(): NativeSstpCallStats | undefined {
    return this.#removed ? undefined : this.#call.stats();
  }

  tlsVersion(): string | undefined {
    return (this.#removed ? undefined : this.#call.stats()?.tlsVersion) || undefined;
  }

  write(bytes: Uint8Array): void {
    if (!this.#removed) this.#call.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** The driver wrote our bytes to the socket already (or holds them for it): the socket goes after the drain. */
  end(): void {
    if (this.#removed || this.#drain) return;
    this.#drain = setTimeout(() => this.remove(), DRAIN_MS);
    this.#drain.unref();
  }

  destroy(): void {
    this.remove();
  }

  /** The driver's call removed (routes gone, socket closed); safe to repeat. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    if (this.#drain) clearTimeout(this.#drain);
    this.#call.remove();
    this.#onRemoved();
  }
}
