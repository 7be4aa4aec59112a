// IKEv2 engines alone: Postern's engine as N remote-access clients against Postern's engine as the
// gateway, in one process with the packets handed across in memory (no sockets, no data plane, DH
// inline). What the two engines cost per IKE_SA + child setup, without the kernel's share or the
// scheduler's noise of the lab bench; `--cpu-prof` on this file profiles both engines. Prints
// `bench ike engines …`. BENCH_IKE_PAIR_COUNT (default 4000), BENCH_IKE_PAIR_ROUNDS (default 3).
import { cpuUsage } from 'node:process';
import { createDh } from '../../firmware/ike/crypto/dh.ts';
import { pooledRandomBytes } from '../../firmware/ike/crypto/random-pool.ts';
import { defaultCookieOptions } from '../../firmware/ike/engine/cookies.ts';
import { IkeEngine } from '../../firmware/ike/engine/engine.ts';
import type { IkeAction, IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { ikeAddressProvider } from '../../firmware/pools/ike-addresses.ts';
import { PoolRegistry } from '../../firmware/pools/pool-registry.ts';
import { Secret } from '../../firmware/util/secret.ts';

const COUNT = Number(process.env['BENCH_IKE_PAIR_COUNT'] ?? 4000);
const ROUNDS = Number(process.env['BENCH_IKE_PAIR_ROUNDS'] ?? 3);
const IKE = parseProposal('aes128gcm16-prfsha256-ecp256', 'ike')!;
const ESP = parseProposal('aes128gcm16', 'esp')!;
const PSK = new Secret('bench-psk-0123456789abcdef');
const GATEWAY = { address: '192.0.2.2', port: 500 };
const CLIENT = { address: '192.0.2.1', port: 500 };
const crypto = { randomBytes: pooledRandomBytes(), createDh };

function round(first: number): { cpuMs: number; up: number } {
  const gateway = new IkeEngine([{
    name: 'ra', localId: 'gw.example', psk: PSK, ikeProposals: [IKE], espProposals: [ESP], localTs: ['10.2.0.0/24'], remoteTs: [], mode: 'tunnel', dpdSeconds: 0, pool: 'ra', mobike: false,
  }], crypto, { cookies: { ...defaultCookieOptions, threshold: 1e9, perSourceRate: 1e9 }, addresses: ikeAddressProvider(new PoolRegistry([{ name: 'ra', ipv4: '10.10.0.0/16', dns: [] }], [])), logLevel: 'info' });
  const clients: IkeConnection[] = Array.from({ length: COUNT }, (_, i) => ({
    name: `c${i}`, localId: `load${first + i}@example.com`, remoteId: 'gw.example', remoteAddress: GATEWAY.address, psk: PSK, ikeProposals: [IKE], espProposals: [ESP],
    localTs: ['0.0.0.0/0'], remoteTs: ['10.2.0.0/24'], requestVirtualIp: true, mode: 'tunnel', dpdSeconds: 0, mobike: false,
  }));
  const client = new IkeEngine(clients, crypto, { retransmitBaseMs: 3000, logLevel: 'info' }); // as the service logs
  let up = 0;
  // Packets in flight, each to the engine it is for; handled in order until none is left.
  const queue: Array<{ to: IkeEngine; action: Extract<IkeAction, { type: 'send' }> }> = [];
  const take = (from: IkeEngine, actions: IkeAction[]) => {
    for (const a of actions) {
      if (a.type === 'send') queue.push({ to: from === client ? gateway : client, action: a });
      else if (a.type === 'install-child' && from === client) up++;
    }
  };
  const start = cpuUsage();
  for (let i = 0; i < COUNT; i++) {
    take(client, client.initiate(`c${i}`, CLIENT, Date.now()));
    while (queue.length) {
      const { to, action } = queue.shift()!;
      take(to, to.handlePacket(action.packet, action.from, action.to, Date.now()));
    }
  }
  const used = cpuUsage(start);
  return { cpuMs: (used.user + used.system) / 1000, up };
}

for (let r = 0; r < ROUNDS; r++) {
  const { cpuMs, up } = round(r * COUNT);
  console.log(`bench ike engines round ${r + 1}: ${(cpuMs / Math.max(1, up) * 1000).toFixed(0)} µs of CPU per setup for both engines (${up} of ${COUNT} up, ECP-256, PSK, virtual IP, one child each, DH inline)`);
}
