import { createHash } from 'node:crypto';
import { createDh } from '../../firmware/ike/crypto/dh.ts';
import { IkeEngine } from '../../firmware/ike/engine/engine.ts';
import type { Endpoint, IkeAction, IkeConnection, IkeCryptoProvider } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import type { ShellEngine } from '../../firmware/ike/shell/shell-engine.ts';
import { Secret } from '../../firmware/util/secret.ts';

/** Deterministic randomness for engine tests: a SHA-256 counter stream from a seed. */
export function seededCrypto(seed: string): IkeCryptoProvider {
  let counter = 0;
  return {
    randomBytes(length) {
      const out = Buffer.alloc(length);
      for (let at = 0; at < length; at += 32) createHash('sha256').update(`${seed}/${counter++}`).digest().copy(out, at);
      return out;
    },
    createDh,
  };
}

export function connection(name: string, over: Partial<IkeConnection> & { ike?: string[]; esp?: string[] } = {}): IkeConnection {
  const { ike = ['aes256-sha256-modp2048'], esp = ['aes128gcm16'], ...rest } = over;
  return {
    name, psk: new Secret('correct horse battery staple'), mode: 'tunnel', dpdSeconds: 30,
    ikeProposals: ike.map((p) => parseProposal(p, 'ike')!), espProposals: esp.map((p) => parseProposal(p, 'esp')!),
    localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'],
    ...rest,
  };
}

interface InFlight {
  packet: Uint8Array;
  from: Endpoint;
  to: Endpoint;
  at: number;
}

/**
 * Two engines joined by a simulated network on a simulated clock. `filter` may drop or delay a
 * packet (loss, reordering); `nat` rewrites what crosses it, as a NAT between them would. Any
 * engine the shell drives fits (`ShellEngine`: IKEv2's, IKEv1's, the facade dispatching between them).
 */
export class EnginePair<E extends ShellEngine = IkeEngine> {
  readonly engines: Record<string, E>;
  readonly addresses: Record<string, string>;
  readonly actions: Record<string, IkeAction[]> = { a: [], b: [] };
  now = 0;
  latencyMs = 10;
  filter: (p: InFlight, n: number) => 'deliver' | 'drop' | number = () => 'deliver';
  nat: ((p: InFlight) => InFlight) | undefined;
  #wire: InFlight[] = [];
  #sent = 0;

  constructor(a: E, b: E, addresses = { a: '192.0.2.1', b: '192.0.2.2' }) {
    this.engines = { a, b };
    this.addresses = addresses;
  }

  take(side: 'a' | 'b', actions: IkeAction[]): void {
    this.actions[side]!.push(...actions);
    for (const action of actions) {
      if (action.type !== 'send') continue;
      const p = { packet: action.packet, from: action.from, to: action.to, at: this.now + this.latencyMs };
      const verdict = this.filter(p, this.#sent++);
      if (verdict === 'drop') continue;
      if (typeof verdict === 'number') p.at += verdict;
      this.#wire.push(this.nat ? this.nat(p) : p);
    }
  }

  /** More addresses a side answers on (a client that moved). */
  readonly aliases: Record<string, 'a' | 'b'> = {};

  #sideOf(address: string): 'a' | 'b' | undefined {
    return address === this.addresses.a ? 'a' : address === this.addresses.b ? 'b' : this.aliases[address];
  }

  /** Runs deliveries and timers until nothing is left or `untilMs` passes. */
  run(untilMs = 600_000): void {
    for (let steps = 0; steps < 10_000; steps++) {
      this.#wire.sort((x, y) => x.at - y.at);
      const nextPacket = this.#wire[0]?.at;
      const timers = (['a', 'b'] as const).map((s) => [s, this.engines[s]!.nextTimeout()] as const).filter(([, t]) => t !== undefined) as Array<readonly ['a' | 'b', number]>;
      const nextTimer = Math.min(...timers.map(([, t]) => t));
      const next = Math.min(nextPacket ?? Infinity, nextTimer);
      if (next === Infinity || next > untilMs) return;
      this.now = Math.max(this.now, next);
      if (nextPacket !== undefined && nextPacket <= nextTimer) {
        const p = this.#wire.shift()!;
        const side = this.#sideOf(p.to.address);
        if (side) this.take(side, this.engines[side]!.handlePacket(p.packet, p.from, p.to, this.now));
      } else {
        for (const [side, t] of timers) if (t <= this.now) this.take(side, this.engines[side]!.tick(this.now));
      }
    }
    throw new Error('the simulation did not settle in 10,000 steps');
  }

  of<T extends IkeAction['type']>(side: 'a' | 'b', type: T): Array<Extract<IkeAction, { type: T }>> {
    return this.actions[side]!.filter((x): x is Extract<IkeAction, { type: T }> => x.type === type);
  }

  /** The state changes of every SA this side had, as one text (for matching). */
  history(side: 'a' | 'b'): string {
    const sas = (this.engines[side] as { readonly sas?: ReadonlyArray<{ readonly history: readonly string[] }> }).sas ?? [];
    return sas.flatMap((s) => s.history).join('\n');
  }

  logs(side: 'a' | 'b'): string[] {
    return this.of(side, 'log').map((l) => l.msg);
  }
}
