// Postern's IKEv2 engine in a lab host: the engine and its UDP shell, configured from the JSON
// argument. SA events are printed as `event {...}` lines (SPIs, suites and selectors; never keys),
// log records as `log {...}`. Commands on stdin: `status`, `initiate NAME`, `terminate`.
import './young-generation-first.ts'; // first: as `postern run`, before the rest loads
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DhWorkerPool } from '../../../firmware/ike/crypto/dh-worker-pool.ts';
import { pooledRandomBytes } from '../../../firmware/ike/crypto/random-pool.ts';
import { defaultCookieOptions } from '../../../firmware/ike/engine/cookies.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeAction, IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { ikeAddressProvider } from '../../../firmware/pools/ike-addresses.ts';
import { PoolRegistry } from '../../../firmware/pools/pool-registry.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { IkeShell } from '../../../firmware/ike/shell/ike-shell.ts';
import { NativeHub } from '../../../firmware/dataplane/native-hub.ts';
import { PipeDispatcher } from '../../../firmware/access/pipe-dispatcher.ts';
import { UserspaceDataPlane, kernelRouteOutside } from '../../../firmware/dataplane/userspace.ts';
import { ChildInstaller } from '../../../firmware/ike/shell/child-installer.ts';
import { DataPlaneInstaller } from '../../../firmware/ike/shell/dataplane-installer.ts';
import { DriverTransport } from '../../../firmware/ike/shell/driver-transport.ts';
import { DgramTransport } from '../../../firmware/ike/shell/transport.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import type { RevocationPolicy } from '../../../firmware/config/types.ts';
import { RevocationService } from '../../../firmware/revocation/revocation-service.ts';
import { revokedSessions } from '../../../firmware/ike/shell/revocation-sweep.ts';

export interface IkePeerConnection extends Omit<IkeConnection, 'psk' | 'ikeProposals' | 'espProposals' | 'certificate' | 'trustedCas' | 'eap'> {
  psk: string;
  ike: string[];
  esp: string[];
  /** PEM texts, for certificate authentication. */
  certPem?: string;
  keyPem?: string;
  caPems?: string[];
  eap?: { identity: string; password: string };
}

export interface IkePeerConfig {
  address: string;
  connections: IkePeerConnection[];
  /** Connection to start at once. */
  initiate?: string;
  /** Put child SAs into the driver (UDP 4500 on the shared endpoint), with this inner address. */
  dataplane?: { tunnelAddress: string; hub?: boolean };
  /** Local users (name → password) for EAP-MSCHAPv2. */
  users?: Record<string, string>;
  /** Address pools by name (an IPv4 prefix and DNS servers), for connections with `pool`. */
  pools?: Record<string, { prefix: string; ipv6?: string; dns: string[] }>;
  /** Ask every initiator for a cookie when this many SAs are half-open (0: always). */
  cookieThreshold?: number;
  /** New IKE_SA_INIT per second from one address (benchmarks load from one host). */
  perSourceRate?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** No `event` line per SA action (benchmarks: a line per SA to a busy parent is not the gateway's cost). */
  quiet?: boolean;
  /**
   * Revocation of peer certificates as the IKE subsystem checks it (issue 16): `own` is a CA
   * answered from `<stateDir>/pki/issued.json`, `trusted` CAs by OCSP or CRL over HTTP. Sessions
   * whose certificate becomes revoked are ended (`event {"type":"revoked-session"}`).
   */
  /** DH worker threads (issue 23); default as the service (one fewer than the cores), 0: DH inline. */
  dhWorkers?: number;
  revocation?: { own?: { caPem: string; stateDir: string; policy: RevocationPolicy }; trusted?: Array<{ caPem: string; policy: RevocationPolicy }>; sweepMs?: number };
}

const config = JSON.parse(process.argv[2] ?? '{}') as IkePeerConfig;
const connections: IkeConnection[] = config.connections.map(({ psk, ike, esp, certPem, keyPem, caPems, eap, ...c }) => ({
  ...c, psk: new Secret(psk),
  ...(certPem && keyPem ? { certificate: { der: new X509Certificate(certPem).raw, key: new Secret(createPrivateKey(keyPem)) } } : {}),
  ...(caPems ? { trustedCas: caPems.map((pem) => new X509Certificate(pem).raw) } : {}),
  ...(eap ? { eap: { identity: eap.identity, password: new Secret(eap.password) } } : {}),
  ikeProposals: ike.map((p) => parseProposal(p, 'ike') ?? fail(`bad IKE proposal ${p}`)),
  espProposals: esp.map((p) => parseProposal(p, 'esp') ?? fail(`bad ESP proposal ${p}`)),
}));

function fail(why: string): never {
  process.stdout.write(`error ${why}\n`);
  process.exit(2);
}

const json = (v: unknown) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? (k === 'spi' ? x.toString(16) : Number(x)) : x instanceof Secret ? undefined : x));
const print = (kind: string, v: unknown) => process.stdout.write(`${kind} ${json(v)}\n`);

function onAction(action: IkeAction): void {
  if (config.quiet) return void install(action);
  install(action);
  if (action.type === 'install-child' || action.type === 'delete-child' || action.type === 'rekey-child' || action.type === 'move-child') {
    const c = action.child;
    print('event', { type: action.type, peer: action.child.outbound.destination, ...(action.type === 'rekey-child' ? { oldInSpi: action.old.inbound.spi } : {}), connection: c.connection, suite: c.suite, mode: c.mode, inSpi: c.inbound.spi, outSpi: c.outbound.spi, localTs: c.localTs, remoteTs: c.remoteTs, encapsulation: c.encapsulation ?? null });
  } else print('event', action);
}

function install(action: IkeAction): void {
  try {
    if (action.type === 'install-child') installer?.install(action.child);
    if (action.type === 'delete-child') installer?.remove(action.child);
    if (action.type === 'rekey-child') installer?.rekey(action.old, action.child, action.initiated);
    if (action.type === 'move-child') installer?.move(action.child);
  } catch (error) {
    print('event', { type: 'dataplane-error', action: action.type, error: error instanceof Error ? error.message : String(error) });
  }
}

const cookieOptions = { ...defaultCookieOptions, ...(config.cookieThreshold === undefined ? {} : { threshold: config.cookieThreshold }), ...(config.perSourceRate === undefined ? {} : { perSourceRate: config.perSourceRate }) };
const cookies = { cookies: cookieOptions };
const users = config.users ?? {};
const logger = createLogger({ level: config.logLevel ?? 'debug', sink: (r) => print('log', r) });
const rc = config.revocation;
const revocation = rc && new RevocationService({
  log: logger.child('revocation'),
  ...(rc.own ? { own: { ca: new X509Certificate(rc.own.caPem), stateDir: rc.own.stateDir, policy: rc.own.policy } } : {}),
  trusted: (rc.trusted ?? []).map((t) => ({ ca: new X509Certificate(t.caPem), policy: t.policy })),
  onChange: () => endRevoked(),
});
function endRevoked(): void {
  if (!revocation) return;
  for (const { sa, reason } of revokedSessions(engine.sas, revocation, new Date())) {
    print('event', { type: 'revoked-session', spi: sa.spiI, peer: sa.remoteId, reason });
    shell.terminate(sa.spiI);
  }
}
if (revocation) setInterval(endRevoked, rc?.sweepMs ?? 60_000).unref();
const dh = new DhWorkerPool(config.dhWorkers === undefined ? {} : { workers: config.dhWorkers });
const engine = new IkeEngine(connections, { randomBytes: pooledRandomBytes(), createDh: dh.createDh }, { ...cookies, logLevel: logger.level, ...(revocation ? { revocation } : {}), users: (name) => (users[name] === undefined ? undefined : credentialFromPassword(users[name]!)), ...(config.pools ? { addresses: ikeAddressProvider(new PoolRegistry(Object.entries(config.pools).map(([name, p]) => ({ name, ipv4: p.prefix, dns: p.dns, ...(p.ipv6 ? { ipv6: p.ipv6 } : {}) })), [])) } : {}) });
const shell = new IkeShell(engine, logger.child('ike'), onAction, Date.now, () => dh.settled());
const transport = config.dataplane ? await DriverTransport.open(config.address, shell.receive) : await DgramTransport.open(config.address, shell.receive);
const hub = config.dataplane?.hub ? NativeHub.open({ name: 'phub0', mtu: 1400, address: config.dataplane.tunnelAddress, prefixLength: 32 }) : undefined;
// As the service does: each pool is routed to the shared TUN once.
const routedPrefixes = hub ? Object.values(config.pools ?? {}).map((p) => p.prefix) : [];
for (const prefix of routedPrefixes) execFileSync('ip', ['route', 'replace', prefix, 'dev', hub!.name]);
// On the shared TUN, as the service does: through the DataPlane interface. Without it, a TUN per child.
const userspace = config.dataplane && hub && transport instanceof DriverTransport
  ? new UserspaceDataPlane({
    hub, pipe: new PipeDispatcher(hub), ...transport.dataplaneEndpoints(), // by family: an IPv6 address fills the IPv6 slots (issue 24)
    tunnelAddress: config.dataplane.tunnelAddress, kernelRoute: kernelRouteOutside(hub.name, routedPrefixes),
  })
  : undefined;
const installer = userspace
  ? new DataPlaneInstaller({ log: logger.child('dataplane'), dataplane: userspace })
  : config.dataplane
  ? new ChildInstaller({ tunnelAddress: config.dataplane.tunnelAddress, log: logger.child('dataplane'), ...(transport instanceof DriverTransport ? { endpoint: transport.endpoint, ...(transport.rawEndpoint ? { rawEndpoint: transport.rawEndpoint } : {}) } : {}), ...(hub ? { hub, routedPrefixes } : {}) })
  : undefined;
shell.attach(transport);
process.stdout.write('ready\n');
if (config.initiate) shell.initiate(config.initiate, { address: config.address, port: 500 });

const commands: Record<string, (arg: string) => string> = {
  status: () => `status ${json({
    sas: engine.sas.map((s) => ({ spi: s.spiI, state: s.state, children: s.children.length, nat: s.natDetected, remote: s.remote })),
    drops: engine.drops,
    dh: dh.counters,
    transport: transport instanceof DriverTransport ? transport.endpoint.stats() : transport.counters,
    hub: hub?.stats(),
    dataplane: userspace?.counters,
    tunnels: engine.sas.flatMap((s) => s.children.map((c) => installer?.tunnel(c.inbound.spi)?.stats())).filter(Boolean),
  })}`,
  initiate: (name) => {
    shell.initiate(name, { address: config.address, port: 500 });
    return 'ok';
  },
  'rekey-child': () => {
    for (const sa of engine.sas) for (const c of sa.children) shell.rekeyChild(sa.spiI, c.inbound.spi);
    return 'ok';
  },
  reauth: () => {
    for (const sa of engine.sas) shell.reauthenticate(sa.spiI);
    return 'ok';
  },
  'rekey-ike': () => {
    for (const sa of engine.sas) shell.rekeyIke(sa.spiI);
    return 'ok';
  },
  /** Heap and resident memory after a full collection. */
  memory: () => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    return `memory ${JSON.stringify(process.memoryUsage())}`;
  },
  /** A V8 heap snapshot written to the path given (what each SA keeps, by constructor: issue 23). */
  'heap-snapshot': (path) => `heap-snapshot ${writeHeapSnapshot(path)}`,
  terminate: () => {
    for (const sa of engine.sas) shell.terminate(sa.spiI);
    return 'ok';
  },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const [name = '', ...rest] = line.split(' ');
  const command = commands[name];
  process.stdout.write(`${command ? command(rest.join(' ')) : `unknown command ${name}`}\n`);
});
const stop = () => {
  installer?.stopAll();
  hub?.close();
  void shell.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
