// IKEv1 load: Postern's IKEv1 engine as many site-to-site initiators in one process (no data plane),
// all from one address to one responder, each a Main Mode with the pre-shared key and one Quick
// Mode. Prints `result {...}` once `count` child SAs are up (or failed), then holds them until `quit`.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createDh } from '../../firmware/ike/crypto/dh.ts';
import type { IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { IkeShell } from '../../firmware/ike/shell/ike-shell.ts';
import { DgramTransport } from '../../firmware/ike/shell/transport.ts';
import { Ikev1Engine } from '../../firmware/ikev1/engine/engine.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';

interface LoadConfig { address: string; target: string; count: number; concurrency: number; psk: string; ike: string; esp: string; localId: string; remoteId: string }
const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const base = {
  remoteAddress: config.target, localId: config.localId, remoteId: config.remoteId, psk: new Secret(config.psk), mode: 'tunnel' as const, dpdSeconds: 0,
  ikeProposals: [parseProposal(config.ike, 'ike')!], espProposals: [parseProposal(config.esp, 'esp')!],
  localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'],
};
const connections: IkeConnection[] = Array.from({ length: config.count }, (_, i) => ({ ...base, name: `c${i}` }));
const engine = new Ikev1Engine(connections, { randomBytes: (n) => randomBytes(n), createDh }, { retransmitBaseMs: 3000 });
let started = 0;
let up = 0;
let failed = 0;
let t0 = 0;
const local = { address: config.address, port: 500 };
const next = () => {
  if (started < config.count) shell.initiate(`c${started++}`, local);
};
const shell = new IkeShell(engine, createLogger({ level: process.env['LOAD_DEBUG'] ? 'debug' : 'error', sink: (r) => { if (process.env['LOAD_DEBUG']) process.stdout.write(`log ${JSON.stringify(r)}\n`); } }), (action) => {
  if (action.type !== 'install-child' && action.type !== 'ike-down') return;
  if (action.type === 'install-child') up++;
  else failed++;
  if (up + failed === config.count) process.stdout.write(`result ${JSON.stringify({ up, failed, seconds: (performance.now() - t0) / 1000, perSecond: up / ((performance.now() - t0) / 1000) })}\n`);
  else next();
});
shell.attach(await DgramTransport.open(config.address, shell.receive));
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'go') {
    t0 = performance.now();
    for (let i = 0; i < config.concurrency; i++) next();
    process.stdout.write('ok\n');
  } else if (line === 'quit') process.exit(0);
});
