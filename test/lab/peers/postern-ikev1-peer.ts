// Postern's IKEv1 engine in a lab host on UDP 500/4500 (node:dgram; no data plane yet), configured
// from the JSON argument like postern-ike-peer.ts. SA events are printed as `event {...}` lines
// (SPIs, suites, selectors; never keys), log records as `log {...}`. Commands on stdin: `status`,
// `initiate NAME`, `terminate`, and `keys`, which prints phase 1 key material of the first SA for
// the test that compares it with charon's level-4 log (a lab peer only; the engine never logs keys).
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createDh } from '../../../firmware/ike/crypto/dh.ts';
import type { IkeAction, IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { DgramTransport } from '../../../firmware/ike/shell/transport.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import type { IkePeerConnection } from './postern-ike-peer.ts';

export interface Ikev1PeerConfig {
  address: string;
  connections: Array<Omit<IkePeerConnection, 'certPem' | 'keyPem' | 'caPems' | 'eap'>>;
  initiate?: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Ikev1PeerConfig;
const fail = (why: string): never => {
  process.stdout.write(`error ${why}\n`);
  process.exit(2);
};
const connections: IkeConnection[] = config.connections.map(({ psk, ike, esp, ...c }) => ({
  ...c, psk: new Secret(psk),
  ikeProposals: ike.map((p) => parseProposal(p, 'ike') ?? fail(`bad IKE proposal ${p}`)),
  espProposals: esp.map((p) => parseProposal(p, 'esp') ?? fail(`bad ESP proposal ${p}`)),
}));

const json = (v: unknown) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? (k === 'spi' ? x.toString(16) : Number(x)) : x instanceof Secret ? undefined : x));
const print = (kind: string, v: unknown) => process.stdout.write(`${kind} ${json(v)}\n`);
const engine = new Ikev1Engine(connections, { randomBytes: (n) => randomBytes(n), createDh });
let timer: NodeJS.Timeout | undefined;

function act(actions: IkeAction[]): void {
  for (const a of actions) {
    if (a.type === 'send') transport.send(a.packet, a.from, a.to);
    else if (a.type === 'log') print('log', { level: a.level, msg: a.msg });
    else if (a.type === 'install-child' || a.type === 'delete-child' || a.type === 'rekey-child') {
      const c = a.child;
      print('event', { type: a.type, ...(a.type === 'rekey-child' ? { oldInSpi: a.old.inbound.spi } : {}), connection: c.connection, suite: c.suite, mode: c.mode, inSpi: c.inbound.spi, outSpi: c.outbound.spi, localTs: c.localTs, remoteTs: c.remoteTs, encapsulation: c.encapsulation ?? null });
    } else print('event', a);
  }
  schedule();
}

function schedule(): void {
  if (timer) clearTimeout(timer);
  const next = engine.nextTimeout();
  if (next === undefined) return;
  timer = setTimeout(() => act(engine.tick(performance.now())), Math.max(0, next - performance.now()));
}

const transport = await DgramTransport.open(config.address, (packet, from, to) => act(engine.handlePacket(packet, from, to, performance.now())));
process.stdout.write('ready\n');
if (config.initiate) act(engine.initiate(config.initiate, { address: config.address, port: 500 }, performance.now()));

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '');
const commands: Record<string, (arg: string) => string> = {
  status: () => `status ${json({ sas: engine.sas.map((s) => ({ spi: s.ckyI, state: s.state, children: s.children.length, nat: s.natDetected, remote: s.remote })), drops: engine.drops })}`,
  initiate: (name) => {
    act(engine.initiate(name, { address: config.address, port: 500 }, performance.now()));
    return 'ok';
  },
  terminate: () => {
    for (const sa of engine.sas) if (sa.state !== 'closed') act(engine.terminate(sa.ckyI, performance.now()));
    return 'ok';
  },
  keys: () => {
    const sa = engine.sas.find((s) => s.crypto?.keys);
    const k = sa?.crypto?.keys;
    return `keys ${JSON.stringify({ skeyid: hex(k?.skeyid), skeyidD: hex(k?.skeyidD), skeyidA: hex(k?.skeyidA), skeyidE: hex(k?.skeyidE), encryptionKey: hex(k?.encryptionKey), ni: hex(sa?.ni), nr: hex(sa?.nr) })}`;
  },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const [name = '', ...rest] = line.split(' ');
  const command = commands[name];
  process.stdout.write(`${command ? command(rest.join(' ')) : `unknown command ${name}`}\n`);
});
const stop = () => void transport.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
