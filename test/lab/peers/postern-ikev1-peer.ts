// Postern's IKEv1 engine in a lab host on UDP 500/4500, configured from the JSON argument like
// postern-ike-peer.ts: on node:dgram alone, or with `dataplane` on the driver (UDP 4500 on its shared
// endpoint, each child SA a tunnel in C, as the IKEv2 peer does). SA events are printed as `event {...}` lines
// (SPIs, suites, selectors; never keys), log records as `log {...}`. Commands on stdin: `status`,
// `initiate NAME`, `terminate`, and `keys`, which prints the first SA's phase 1 key material and
// HASH_I/HASH_R and the last child's keys, for the test that compares them with charon's level-4
// log (a lab peer only; the engine never logs keys).
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createDh } from '../../../firmware/ike/crypto/dh.ts';
import type { ChildSaInfo, IkeAction, IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { ChildInstaller } from '../../../firmware/ike/shell/child-installer.ts';
import { DriverTransport } from '../../../firmware/ike/shell/driver-transport.ts';
import { DgramTransport } from '../../../firmware/ike/shell/transport.ts';
import type { Endpoint } from '../../../firmware/ike/engine/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import type { Ikev1Options } from '../../../firmware/ikev1/engine/context.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { hashI, hashR } from '../../../firmware/ikev1/crypto/keys.ts';
import { ourId } from '../../../firmware/ikev1/engine/main-mode.ts';
import { encodePayloadBody } from '../../../firmware/ikev1/message.ts';
import { identificationFrom } from '../../../firmware/ikev1/payloads/identification.ts';
import type { IkePeerConnection } from './postern-ike-peer.ts';

export interface Ikev1PeerConfig {
  address: string;
  connections: Array<Omit<IkePeerConnection, 'eap'>>;
  initiate?: string;
  /** Engine options (shorter retransmission for DPD tests). */
  engine?: Partial<Ikev1Options>;
  /** Only warnings and errors in the log (benchmarks). */
  quiet?: boolean;
  /** Put child SAs into the driver, with this inner address. */
  dataplane?: { tunnelAddress: string };
}

const config = JSON.parse(process.argv[2] ?? '{}') as Ikev1PeerConfig;
const fail = (why: string): never => {
  process.stdout.write(`error ${why}\n`);
  process.exit(2);
};
const connections: IkeConnection[] = config.connections.map(({ psk, ike, esp, certPem, keyPem, caPems, ...c }) => ({
  ...c, psk: new Secret(psk),
  ...(certPem && keyPem ? { certificate: { der: new X509Certificate(certPem).raw, key: new Secret(createPrivateKey(keyPem)) } } : {}),
  ...(caPems ? { trustedCas: caPems.map((pem) => new X509Certificate(pem).raw) } : {}),
  ikeProposals: ike.map((p) => parseProposal(p, 'ike') ?? fail(`bad IKE proposal ${p}`)),
  espProposals: esp.map((p) => parseProposal(p, 'esp') ?? fail(`bad ESP proposal ${p}`)),
}));

const json = (v: unknown) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? (k === 'spi' ? x.toString(16) : Number(x)) : x instanceof Secret ? undefined : x));
const print = (kind: string, v: unknown) => process.stdout.write(`${kind} ${json(v)}\n`);
const engine = new Ikev1Engine(connections, { randomBytes: (n) => randomBytes(n), createDh }, config.engine ?? {});
let timer: NodeJS.Timeout | undefined;
/** The last child installed, for the `keys` command only. */
let lastChild: ChildSaInfo | undefined;

function act(actions: IkeAction[]): void {
  for (const a of actions) {
    if (a.type === 'send') transport.send(a.packet, a.from, a.to);
    else if (a.type === 'log') {
      if (!config.quiet || a.level === 'warn' || a.level === 'error') print('log', { level: a.level, msg: a.msg });
    }
    else if (a.type === 'install-child' || a.type === 'delete-child' || a.type === 'rekey-child') {
      try {
        if (a.type === 'install-child') lastChild = a.child;
        if (a.type === 'install-child') installer?.install(a.child);
        else if (a.type === 'delete-child') installer?.remove(a.child);
        else installer?.rekey(a.old, a.child, a.initiated, a.confirmed);
      } catch (error) {
        print('event', { type: 'dataplane-error', action: a.type, error: error instanceof Error ? error.message : String(error) });
      }
      const c = a.child;
      print('event', { type: a.type, ...(a.type === 'rekey-child' ? { oldInSpi: a.old.inbound.spi, confirmed: a.confirmed === true } : {}), connection: c.connection, suite: c.suite, mode: c.mode, inSpi: c.inbound.spi, outSpi: c.outbound.spi, localTs: c.localTs, remoteTs: c.remoteTs, encapsulation: c.encapsulation ?? null });
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

const receive = (packet: Uint8Array, from: Endpoint, to: Endpoint) => act(engine.handlePacket(packet, from, to, performance.now()));
const transport = config.dataplane ? await DriverTransport.open(config.address, receive) : await DgramTransport.open(config.address, receive);
const installer = config.dataplane && transport instanceof DriverTransport
  ? new ChildInstaller({ tunnelAddress: config.dataplane.tunnelAddress, log: createLogger({ level: 'info', sink: (r) => print('log', r) }).child('dataplane'), endpoint: transport.endpoint, ...(transport.rawEndpoint ? { rawEndpoint: transport.rawEndpoint } : {}) })
  : undefined;
process.stdout.write('ready\n');
if (config.initiate) act(engine.initiate(config.initiate, { address: config.address, port: 500 }, performance.now()));

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '');
const commands: Record<string, (arg: string) => string> = {
  status: () => `status ${json({
    sas: engine.sas.map((s) => ({ spi: s.ckyI, state: s.state, children: s.children.length, nat: s.natDetected, remote: s.remote })), drops: engine.drops,
    tunnels: engine.sas.flatMap((s) => s.children.map((c) => installer?.tunnel(c.inbound.spi)?.stats())).filter(Boolean),
  })}`,
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
    // HASH_I and HASH_R as this side computes them (RFC 2409 §5), from its own SA state and the two
    // ID bodies (the peer's from its ID text: strongSwan's phase 1 IDs carry protocol and port 0).
    const inputs = sa && { gxi: sa.gxi, gxr: sa.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB };
    const ours = sa && encodePayloadBody({ kind: 'ID', id: ourId(sa) });
    const peer = sa?.remoteId ? identificationFrom(sa.remoteId) : undefined;
    const theirs = peer && encodePayloadBody({ kind: 'ID', id: peer });
    const [idI, idR] = sa?.initiator ? [ours, theirs] : [theirs, ours];
    const hashes = sa && k && inputs && idI && idR ? { hashI: hex(hashI(sa.crypto!.prf, k.skeyid, inputs, idI)), hashR: hex(hashR(sa.crypto!.prf, k.skeyid, inputs, idR)) } : {};
    const c = lastChild;
    const child = c ? { inEncryption: hex(c.inbound.encryption.reveal()), inIntegrity: hex(c.inbound.integrity?.reveal()), outEncryption: hex(c.outbound.encryption.reveal()), outIntegrity: hex(c.outbound.integrity?.reveal()) } : {};
    return `keys ${JSON.stringify({ skeyid: hex(k?.skeyid), skeyidD: hex(k?.skeyidD), skeyidA: hex(k?.skeyidA), skeyidE: hex(k?.skeyidE), encryptionKey: hex(k?.encryptionKey), ni: hex(sa?.ni), nr: hex(sa?.nr), ...hashes, ...child })}`;
  },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const [name = '', ...rest] = line.split(' ');
  const command = commands[name];
  process.stdout.write(`${command ? command(rest.join(' ')) : `unknown command ${name}`}\n`);
});
const stop = () => {
  installer?.stopAll();
  void transport.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
