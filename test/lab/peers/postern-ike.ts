import type { Lab } from '../topology.ts';
import { LinePeer } from './line-peer.ts';
import type { IkePeerConfig } from './postern-ike-peer.ts';

/** The V8 flag the service's init files start it with (scripts/firmware/init: NODE_OPTIONS), so the lab's memory figures are the service's. */
const SERVICE_NODE_ARGS = ['--max-semi-space-size=2'];

/** Postern's IKEv2 engine (postern-ike-peer.ts) running in a lab host. */
export async function startPosternIke(lab: Lab, host: string, config: IkePeerConfig): Promise<LinePeer> {
  return (await LinePeer.spawn(lab, host, `postern-ike-${host}`, 'postern-ike-peer.ts', config, undefined, SERVICE_NODE_ARGS)).peer;
}

export interface IkeStatus {
  sas: Array<{ spi: string; state: string; children: number; nat: boolean; remote: { address: string; port: number } }>;
  drops: Record<string, number>;
  transport: Record<string, number>;
  tunnels: Array<Record<string, number>>;
  hub?: Record<string, number>;
  /** The userspace back end's counters (the shared TUN through the DataPlane interface). */
  dataplane?: Record<string, number>;
}

export async function ikeStatus(peer: LinePeer): Promise<IkeStatus> {
  return JSON.parse((await peer.command('status')).replace(/^status /, '')) as IkeStatus;
}
