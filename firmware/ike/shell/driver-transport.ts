import { NativeEndpoint } from '../../dataplane/native-endpoint.ts';
import type { Endpoint } from '../engine/types.ts';
import { DgramTransport, IKE_PORT, NAT_T_PORT, type IkeReceiver, type IkeTransport } from './transport.ts';

/**
 * UDP 500 on node:dgram, UDP 4500 on the driver's shared endpoint: ESP in UDP never reaches
 * JavaScript, and IKE on 4500 arrives here with the non-ESP marker already removed.
 */
export class DriverTransport implements IkeTransport {
  readonly endpoint: NativeEndpoint;
  /** Raw ESP (no NAT) for the tunnels on the same address; undefined when the raw socket is refused. */
  readonly rawEndpoint: NativeEndpoint | undefined;
  readonly #ike: DgramTransport;

  private constructor(ike: DgramTransport, endpoint: NativeEndpoint, rawEndpoint: NativeEndpoint | undefined) {
    this.#ike = ike;
    this.endpoint = endpoint;
    this.rawEndpoint = rawEndpoint;
  }

  static async open(address: string, receive: IkeReceiver): Promise<DriverTransport> {
    const ike = await DgramTransport.open(address, receive, [IKE_PORT]);
    try {
      const endpoint = NativeEndpoint.open(address, NAT_T_PORT, (packet, from) => receive(packet, from, { address, port: NAT_T_PORT }));
      let raw: NativeEndpoint | undefined;
      try {
        raw = NativeEndpoint.openRaw(address);
      } catch {
        raw = undefined; // children without NAT then get a socket each
      }
      return new DriverTransport(ike, endpoint, raw);
    } catch (e) {
      await ike.close();
      throw e;
    }
  }

  send(packet: Uint8Array, from: Endpoint, to: Endpoint): void {
    if (from.port === NAT_T_PORT) this.endpoint.sendIke(packet, to);
    else this.#ike.send(packet, from, to);
  }

  async close(): Promise<void> {
    await this.#ike.close();
    this.endpoint.close();
    this.rawEndpoint?.close();
  }
}
