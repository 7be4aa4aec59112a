import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Daemon, Lab } from '../topology.ts';
import type { DpPeerConfig } from './postern-dp-peer.ts';

/** A Postern data plane (postern-dp-peer.ts) running in a lab host, asked for its counters over stdin. */
export class PosternDp {
  readonly daemon: Daemon;
  /** Slow-path events the data plane reported, in order. */
  readonly events: Array<Record<string, unknown>> = [];
  readonly #lines: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];

  private constructor(daemon: Daemon) {
    this.daemon = daemon;
    createInterface({ input: daemon.child.stdout! }).on('line', (line) => {
      if (line.startsWith('event ')) {
        this.events.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
  }

  static async start(lab: Lab, host: string, config: DpPeerConfig): Promise<PosternDp> {
    const env = { ...process.env };
    delete env['NODE_OPTIONS']; // a plain node, not one carrying the test runner's loaders
    const script = resolve('test/lab/peers/postern-dp-peer.ts');
    const daemon = lab.spawnDaemon(host, `postern-dp-${host}`, [process.execPath, '--import', 'tsx', script, JSON.stringify(config)], env, true);
    const dp = new PosternDp(daemon);
    const first = await dp.#next(10_000);
    if (!first.startsWith('ready ')) throw new Error(`postern data plane in ${host} did not start: ${first}`);
    return dp;
  }

  async stats(): Promise<{ tunnel: Record<string, number>; outbound: Record<string, number>; inbound: Record<string, number> }> {
    const line = await this.command('stats');
    return JSON.parse(line.replace(/^stats /, '')) as never;
  }

  /** Sends one command line and waits for its answer line. */
  async command(line: string): Promise<string> {
    this.daemon.child.stdin!.write(`${line}\n`);
    return this.#next(5000);
  }

  #next(ms: number): Promise<string> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error('postern data plane: no answer')), ms);
      this.#waiters.push((line) => {
        clearTimeout(timer);
        done(line);
      });
      void this.daemon.exited.then((code) => fail(new Error(`postern data plane exited (${code})`)));
    });
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
