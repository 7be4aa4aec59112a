import { ErrorCode, PosternError } from '../util/errors.ts';
import { loadDriver } from './native.ts';

interface EndpointAddon {
  endpointOpen(config: { address: string; port: number; onIke: (packet: Buffer, address: string, port: number) => void }): object | number;
  endpointOpenRaw(config: { address: string }): object | number;
  endpointSendIke(handle: object, packet: Uint8Array, address: string, port: number): number;
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
 */
export class NativeEndpoint {
  readonly #addon: EndpointAddon;
  readonly #handle: object;

  private constructor(addon: EndpointAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
    endpointHandles.set(this, handle);
  }

  static open(address: string, port: number, onIke: (packet: Buffer, from: { address: string; port: number }) => void): NativeEndpoint {
    const addon = loadDriver() as unknown as EndpointAddon;
    const r = addon.endpointOpen({ address, port, onIke: (packet, a, p) => onIke(packet, { address: a, port: p }) });
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

  /** Sends an IKE message with the non-ESP marker in front; false when the kernel refused it. */
  sendIke(packet: Uint8Array, to: { address: string; port: number }): boolean {
    return this.#addon.endpointSendIke(this.#handle, Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength), to.address, to.port) === 0;
  }

  stats(): NativeEndpointStats | undefined {
    return this.#addon.endpointStats(this.#handle);
  }

  /** Refused (false) while tunnels still run on it. */
  close(): boolean {
    return this.#addon.endpointClose(this.#handle) === 0;
  }
}
