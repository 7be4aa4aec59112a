import { ErrorCode, PosternError } from '../util/errors.ts';
import { loadDriver } from './native.ts';

interface EndpointAddon {
  endpointOpen(config: { address: string; port: number; onIke: (packet: Buffer, address: string, port: number, local: string | undefined) => void }): object | number;
  endpointOpenRaw(config: { address: string }): object | number;
  endpointSendIke(handle: object, packet: Uint8Array, address: string, port: number, source?: string): number;
  endpointStats(handle: object): NativeEndpointStats | undefined;
  endpointClose(handle: object): number;
}

export interface NativeEndpointStats {
  rx: bigint;
  ike: bigint;
  keepalives: bigint;
  short: bigint;
  /** ESP for an SPI no tunnel on this endpoint has (yet, or any more). */
  unknownSpi: bigint;
  ikeSent: bigint;
  ikeSendErrors: bigint;
}

/** The driver's handle behind each endpoint, for NativeTunnel; never exposed to callers. */
export const endpointHandles = new WeakMap<NativeEndpoint, object>();

/**
 * UDP 4500 owned by the driver (RFC 3948): IKE messages come up to `onIke` with the non-ESP
 * marker removed, ESP goes straight to the tunnel whose inbound SA has the SPI, in C.
 * One endpoint per family (issue 24): an IPv6 address opens an IPv6-only socket; IKE from it
 * comes up with the local address the peer wrote to, which an answer may name as its source.
 */
export class NativeEndpoint {
  readonly #addon: EndpointAddon;
  readonly #handle: object;

  private constructor(addon: EndpointAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
    endpointHandles.set(this, handle);
  }

  static open(address: string, port: number, onIke: (packet: Buffer, from: { address: string; port: number }, local: string | undefined) => void): NativeEndpoint {
    const addon = loadDriver() as unknown as EndpointAddon;
    const r = addon.endpointOpen({ address, port, onIke: (packet, a, p, local) => onIke(packet, { address: a, port: p }, local) });
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not open UDP ${address}:${port} (errno ${-r})`);
    return new NativeEndpoint(addon, r);
  }

  /** Raw ESP (IP protocol 50) on `address`, shared by every tunnel without UDP encapsulation. */
  static openRaw(address: string): NativeEndpoint {
    const addon = loadDriver() as unknown as EndpointAddon;
    const r = addon.endpointOpenRaw({ address });
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not open raw ESP on ${address} (errno ${-r})`);
    return new NativeEndpoint(addon, r);
  }

  /**
   * Sends an IKE message with the non-ESP marker in front; false when the kernel refused it.
   * `source`: the local IPv6 address to send from, for an endpoint bound to `::`.
   */
  sendIke(packet: Uint8Array, to: { address: string; port: number }, source?: string): boolean {
    const data = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    return (source === undefined ? this.#addon.endpointSendIke(this.#handle, data, to.address, to.port) : this.#addon.endpointSendIke(this.#handle, data, to.address, to.port, source)) === 0;
  }

  stats(): NativeEndpointStats | undefined {
    return this.#addon.endpointStats(this.#handle);
  }

  /** Refused (false) while tunnels still run on it. */
  close(): boolean {
    return this.#addon.endpointClose(this.#handle) === 0;
  }
}
