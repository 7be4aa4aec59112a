import { randomBytes } from 'node:crypto';
import type { Daemon, Lab } from '../topology.ts';
import { LinePeer } from './line-peer.ts';
import type { DpPeerConfig } from './postern-dp-peer.ts';

/** A Postern data plane (postern-dp-peer.ts) running in a lab host, asked for its counters over stdin. */
export class PosternDp {
  readonly #peer: LinePeer;

  private constructor(peer: LinePeer) {
    this.#peer = peer;
  }

  get daemon(): Daemon {
    return this.#peer.daemon;
  }

  /** Slow-path events the data plane reported, in order. */
  get events(): Array<Record<string, unknown>> {
    return this.#peer.events;
  }

  static async start(lab: Lab, host: string, config: DpPeerConfig): Promise<PosternDp> {
    const { peer } = await LinePeer.spawn(lab, host, `postern-dp-${host}`, 'postern-dp-peer.ts', config);
    return new PosternDp(peer);
  }

  async stats(): Promise<{ tunnel: Record<string, number>; outbound: Record<string, number>; inbound: Record<string, number> }> {
    const line = await this.command('stats');
    return JSON.parse(line.replace(/^stats /, '')) as never;
  }

  command(line: string): Promise<string> {
    return this.#peer.command(line);
  }
}

/**
 * Mirror-image static keying (the test-only manual keying path) for gwA and gwB: gwA's outbound SA
 * is gwB's inbound and back. `bSeesA` is gwA's address as gwB sees it (the NAT's, behind one).
 */
export function mirroredPeers(options: { aAddress: string; bAddress: string; bSeesA?: string; framing?: DpPeerConfig['framing'] }): { a: DpPeerConfig; b: DpPeerConfig } {
  const k1 = randomBytes(20).toString('hex');
  const k2 = randomBytes(20).toString('hex');
  const common = { suite: 'aes-gcm-128' as const, ...(options.framing ? { framing: options.framing } : {}) };
  return {
    a: { ...common, outKey: k1, inKey: k2, outSpi: 0xa0000001, inSpi: 0xb0000001, tunnelAddress: '10.255.0.1', local: { address: options.aAddress, port: 4500 }, remote: { address: options.bAddress, port: 4500 } },
    b: { ...common, outKey: k2, inKey: k1, outSpi: 0xb0000001, inSpi: 0xa0000001, tunnelAddress: '10.255.0.2', local: { address: options.bAddress, port: 4500 }, remote: { address: options.bSeesA ?? options.aAddress, port: 4500 } },
  };
}

/** Routes each LAN to the other through the gateways' TUN (pst0). */
export function routeLansThroughTunnel(lab: Lab): void {
  lab.execSync('gwA', ['ip', 'route', 'add', '10.2.0.0/24', 'dev', 'pst0']);
  lab.execSync('gwB', ['ip', 'route', 'add', '10.1.0.0/24', 'dev', 'pst0']);
}
