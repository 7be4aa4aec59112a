// IKEv2 churn: Postern's engine as `slots` remote-access clients (one identity each) that connect,
// hold for `holdMs`, delete and connect again until `cycles` connections have come and gone.
// stdin `go` starts; prints `result {...}` at the end.
import { createInterface } from 'node:readline';
import { createDh } from '../../firmware/ike/crypto/dh.ts';
import { pooledRandomBytes } from '../../firmware/ike/crypto/random-pool.ts';
import { IkeEngine } from '../../firmware/ike/engine/engine.ts';
import type { IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { IkeShell } from '../../firmware/ike/shell/ike-shell.ts';
import { DgramTransport } from '../../firmware/ike/shell/transport.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';

interface ChurnConfig { address: string; target: string; cycles: number; slots: number; holdMs: number; psk: string; ike: string; esp: string; gatewayId: string }
const config = JSON.parse(process.argv[2] ?? '{}') as ChurnConfig;
const base = {
  remoteAddress: config.target, remoteId: config.gatewayId, psk: new Secret(config.psk), mode: 'tunnel' as const, dpdSeconds: 0,
  ikeProposals: [parseProposal(config.ike, 'ike')!], espProposals: [parseProposal(config.esp, 'esp')!],
  localTs: ['0.0.0.0/0'], remoteTs: ['10.2.0.0/24'], requestVirtualIp: true, mobike: false,
};
const connections: IkeConnection[] = Array.from({ length: config.slots }, (_, i) => ({ ...base, name: `s${i}`, localId: `churn${i}@example.com` }));
const engine = new IkeEngine(connections, { randomBytes: pooledRandomBytes(), createDh }, { retransmitBaseMs: 2000 });
const local = { address: config.address, port: 500 };
let started = 0;
let up = 0;
let down = 0;
let failed = 0;
let t0 = 0;
/** Which slot each IKE SA belongs to, so a slot dials again once its SA is gone. */
const slotOf = new Map<bigint, number>();

const dial = (slot: number) => {
  if (started >= config.cycles) return;
  started++;
  shell.initiate(`s${slot}`, local);
};
const shell = new IkeShell(engine, createLogger({ level: 'error', sink: () => {} }), (action) => {
  if (action.type === 'ike-up') {
    up++;
    const slot = Number(action.connection.slice(1));
    slotOf.set(action.spi, slot);
    setTimeout(() => shell.terminate(action.spi), config.holdMs);
  } else if (action.type === 'ike-down') {
    const slot = slotOf.get(action.spi) ?? Number(action.connection.slice(1));
    if (slotOf.delete(action.spi)) down++;
    else failed++;
    if (down + failed >= config.cycles) finish();
    else dial(slot);
  }
});

function finish(): void {
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`result ${JSON.stringify({ up, down, failed, seconds, perSecond: down / seconds })}\n`);
}

shell.attach(await DgramTransport.open(config.address, shell.receive));
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'go') return;
  t0 = performance.now();
  for (let slot = 0; slot < config.slots; slot++) dial(slot);
  process.stdout.write('ok\n');
});
