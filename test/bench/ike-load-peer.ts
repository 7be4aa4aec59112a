// IKE load: Postern's own engine as many initiators in one process (no data plane). IKEv2 (default):
// remote-access clients, each with its own identity, asking for a virtual address. IKEv1
// (`version: 1`): site initiators from one address, each a Main Mode with the PSK and one Quick Mode.
// Prints `result {...}` once `count` child SAs are up (or failed), then holds them until stdin says `quit`.
// Its key pairs are made before `ready` (one per SA, for the proposal's group), so the timed phase
// spends none of the shared cores on the load generator's key generation: that is not the gateway's work.
import { createInterface } from 'node:readline';
import { createDh, type DhExchange } from '../../firmware/ike/crypto/dh.ts';
import { pooledRandomBytes } from '../../firmware/ike/crypto/random-pool.ts';
import { IkeEngine } from '../../firmware/ike/engine/engine.ts';
import type { IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { TransformType } from '../../firmware/ike/registry/numbers.ts';
import { IkeShell } from '../../firmware/ike/shell/ike-shell.ts';
import { DgramTransport } from '../../firmware/ike/shell/transport.ts';
import { Ikev1Engine } from '../../firmware/ikev1/engine/engine.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';

interface LoadConfig { version?: 1 | 2; address: string; target: string; count: number; concurrency: number; psk: string; ike: string; esp: string; gatewayId: string; localId?: string }
const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const v1 = config.version === 1;
const base = {
  remoteAddress: config.target, remoteId: config.gatewayId, psk: new Secret(config.psk), mode: 'tunnel' as const, dpdSeconds: 0,
  ikeProposals: [parseProposal(config.ike, 'ike')!], espProposals: [parseProposal(config.esp, 'esp')!],
  ...(v1 ? { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] } : { localTs: ['0.0.0.0/0'], remoteTs: ['10.2.0.0/24'], requestVirtualIp: true, mobike: false }),
};
const connections: IkeConnection[] = Array.from({ length: config.count }, (_, i) => ({ ...base, name: `c${i}`, localId: v1 ? (config.localId ?? config.address) : `load${i}@example.com` }));
const group = parseProposal(config.ike, 'ike')!.get(TransformType.DH)?.[0]?.id;
const stocked: DhExchange[] = group === undefined ? [] : Array.from({ length: config.count }, () => createDh(group)!).filter(Boolean);
/** A key pair made ahead for the proposal's group; any other group (or a retry past the stock) made now. */
const stockedDh = (g: number): DhExchange | undefined => (g === group ? stocked.pop() : undefined) ?? createDh(g);
const crypto = { randomBytes: pooledRandomBytes(), createDh: stockedDh };
const engine = v1 ? new Ikev1Engine(connections, crypto, { retransmitBaseMs: 3000 }) : new IkeEngine(connections, crypto, { retransmitBaseMs: 3000 });
let started = 0;
let up = 0;
let failed = 0;
let t0 = 0;
const local = { address: config.address, port: 500 };
const next = () => {
  if (started < config.count) shell.initiate(`c${started++}`, local);
};
const shell = new IkeShell(engine, createLogger({ level: 'error', sink: () => {} }), (action) => {
  if (action.type !== 'install-child' && action.type !== 'ike-down') return;
  if (action.type === 'install-child') up++;
  else failed++;
  if (up + failed < config.count) return next();
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`result ${JSON.stringify({ up, failed, seconds, perSecond: up / seconds })}\n`);
});
shell.attach(await DgramTransport.open(config.address, shell.receive));
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'go') {
    t0 = performance.now();
    for (let i = 0; i < config.concurrency; i++) next();
    process.stdout.write('ok\n');
  } else if (line === 'progress') {
    // How far a load got (the bench asks when a responder did not finish in time).
    process.stdout.write(`progress ${JSON.stringify({ up, failed, seconds: (performance.now() - t0) / 1000 })}\n`);
  } else if (line === 'quit') process.exit(0);
});
process.on('SIGTERM', () => process.exit(0)); // a clean exit, so a --cpu-prof run (LAB_PEER_NODE_ARGS) writes its profile
