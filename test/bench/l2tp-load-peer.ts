// L2TP/IPsec load (issue 20): Postern's own client as many L2TP/IPsec callers in one process, each
// on its own address (added to the host by the benchmark), each a full call: IKEv1 Main Mode (PSK)
// and Quick Mode for a transport SA installed in the driver's userspace data plane, then an L2TP
// tunnel and session and PPP (LCP, MS-CHAPv2, IPCP) from the L2TP site dialer (l2tp-dialer.ts).
//
// ESP: every client has its own raw ESP endpoint on its address (the kernel picks an unbound raw
// socket's source by route, and the LNS checks the source against the SA's selectors) and its own
// UserspaceDataPlane, all sharing one hub; the dialer's datagrams go straight through its transport
// SA (sendUdp, deliverUdp) instead of a socket steered into the TUN, which would need one policy
// routing rule per client. The clients' IP stays in JavaScript (no PPP data session in the driver).
//
// Config: {target, count, concurrency, psk, password}; client i calls from clientAddress(i) as userName(i).
// The line protocol on stdin/stdout: load-calls.ts.
import { PipeDispatcher } from '../../firmware/access/pipe-dispatcher.ts';
import { NativeEndpoint } from '../../firmware/dataplane/native-endpoint.ts';
import { NativeHub } from '../../firmware/dataplane/native-hub.ts';
import { UserspaceDataPlane } from '../../firmware/dataplane/userspace.ts';
import { createDh } from '../../firmware/ike/crypto/dh.ts';
import { pooledRandomBytes } from '../../firmware/ike/crypto/random-pool.ts';
import type { Endpoint, IkeAction, IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { DataPlaneInstaller } from '../../firmware/ike/shell/dataplane-installer.ts';
import { IkeShell } from '../../firmware/ike/shell/ike-shell.ts';
import { DgramTransport, type IkeTransport } from '../../firmware/ike/shell/transport.ts';
import { Ikev1Engine } from '../../firmware/ikev1/engine/engine.ts';
import { IKEV1_DEFAULT_PROPOSALS } from '../../firmware/ikev1/ikev1-connections.ts';
import { decodeIpsecDatagram } from '../../firmware/l2tp/ipsec-datagram.ts';
import { L2tpDialer } from '../../firmware/l2tp/l2tp-dialer.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { clientAddress, userName } from './l2tp-sessions-plan.ts';
import { noteEchoReply, serveLoadCalls, type LoadCall } from './load-calls.ts';

interface LoadConfig { target: string; count: number; concurrency: number; psk: string; password: string }
const c = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const L2TP_PORT = 1701;
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });
const quiet = createLogger({ level: 'error', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });

interface Client extends LoadCall {
  readonly address: string;
  readonly dataplane: UserspaceDataPlane;
  readonly installer: DataPlaneInstaller;
  /** Resolves with the transport child's reqid, or rejects when IKE fails. */
  sa?: { resolve: (reqid: number) => void; reject: (e: Error) => void };
  dialer?: L2tpDialer;
}

/** UDP 500 on every client address; a message leaves from the socket of the address the engine names. */
class ManyAddressTransport implements IkeTransport {
  readonly #byAddress = new Map<string, DgramTransport>();
  add(address: string, t: DgramTransport): void {
    this.#byAddress.set(address, t);
  }
  send(packet: Uint8Array, from: Endpoint, to: Endpoint): void {
    this.#byAddress.get(from.address)?.send(packet, from, to);
  }
  async close(): Promise<void> {
    await Promise.all([...this.#byAddress.values()].map((t) => t.close()));
  }
}

const proposals = (texts: readonly string[], protocol: 'ike' | 'esp') => texts.map((t) => parseProposal(t, protocol)!);
const connection = (i: number): IkeConnection => ({
  name: `c${i}`, psk: new Secret(c.psk), ikeProposals: proposals(IKEV1_DEFAULT_PROPOSALS.ike, 'ike'), espProposals: proposals(IKEV1_DEFAULT_PROPOSALS.esp, 'esp'),
  localTs: [], remoteTs: [], mode: 'transport', transportSelector: { protocol: 17, port: L2TP_PORT }, remoteAddress: c.target, dpdSeconds: 0,
  rekeySeconds: 3600, ikeRekeySeconds: 8 * 3600, mobike: false, pfs: 'auto', anyRemoteId: true,
});

const hub = NativeHub.open({ name: 'l2load0', mtu: 1400, address: '10.255.0.1', prefixLength: 32, offload: false, queues: 1 });
const pipe = new PipeDispatcher(hub);
const clients: Client[] = [];
const byConnection = new Map<string, Client>();
const transport = new ManyAddressTransport();
const engine = new Ikev1Engine(Array.from({ length: c.count }, (_, i) => connection(i)), { randomBytes: pooledRandomBytes(), createDh }, { retransmitBaseMs: 3000 });
const shell = new IkeShell(engine, quiet, onIke);
shell.attach(transport);

function onIke(action: IkeAction): void {
  if (action.type === 'install-child' || action.type === 'rekey-child' || action.type === 'delete-child') {
    const client = byConnection.get(action.child.connection ?? '');
    if (!client) return;
    if (action.type === 'install-child') {
      client.installer.install(action.child);
      const reqid = client.installer.reqidOf(action.child.inbound.spi);
      if (reqid !== undefined) client.sa?.resolve(reqid);
    } else if (action.type === 'rekey-child') client.installer.rekey(action.old, action.child, action.initiated);
    else client.installer.remove(action.child);
  } else if (action.type === 'ike-down') {
    const client = byConnection.get(action.connection ?? '');
    client?.sa?.reject(new Error(`IKE: ${action.reason ?? 'down'}`));
  }
}

/** Every client's IKE socket, raw ESP endpoint and data plane. */
async function prepare(): Promise<void> {
  for (let i = 0; i < c.count; i++) {
    const address = clientAddress(i);
    transport.add(address, await DgramTransport.open(address, shell.receive, [500]));
    const dataplane = new UserspaceDataPlane({ hub, pipe, rawEndpoint: NativeEndpoint.openRaw(address), tunnelAddress: '10.255.0.1', mtu: 1400 });
    const client: Client = { index: i, address, dataplane, installer: new DataPlaneInstaller({ dataplane, log: quiet }) };
    clients.push(client);
    byConnection.set(`c${i}`, client);
  }
}

/** IKEv1 Main Mode + Quick Mode, then L2TP and PPP through the transport SA; resolves with the PPP address. */
async function call(client: Client): Promise<string> {
  const reqid = await new Promise<number>((resolve, reject) => {
    client.sa = { resolve, reject };
    shell.initiate(`c${client.index}`, { address: client.address, port: 500 });
    setTimeout(() => reject(new Error('IKE: no transport SA within 60 s')), 60_000).unref();
  });
  const { dataplane } = client;
  const dialer = new L2tpDialer({
    host: c.target, localAddress: client.address, hostName: `load${client.index}`, user: userName(client.index), password: new Secret(c.password),
    ipsec: async () => undefined, ipsecUp: () => client.installer.hasReqid(reqid), logger,
    onIp: (packet) => noteEchoReply(client, packet),
    carrier: (receive) => {
      dataplane.deliverUdp(reqid, L2TP_PORT, (datagram) => {
        const d = decodeIpsecDatagram(datagram);
        if (d && d.sourcePort === L2TP_PORT && d.source === c.target) receive(d.payload);
      });
      return { send: (datagram) => void dataplane.sendUdp(reqid, L2TP_PORT, L2TP_PORT, datagram), close: () => undefined };
    },
  });
  client.dialer = dialer;
  const timer = setTimeout(() => dialer.disconnect(), 60_000).unref();
  const ipcp = await dialer.ready.finally(() => clearTimeout(timer));
  client.pppAddress = ipcp.localAddress ?? '';
  return client.pppAddress;
}

serveLoadCalls<Client>({ clients, call: async (client) => void (await call(client)), sendIp: (client, packet) => client.dialer?.sendIp(packet), concurrency: c.concurrency, prepare });
