// A DataPlane back end (userspace or kernel XFRM) in a lab host, driven the way IKE drives one, by hand:
// one JSON call per stdin line (`{"call":"addSa","args":[...]}`), answered `ok <result>` or
// `error <code> <message>`; acquire and expire events printed as `event {...}`. Keys are hex,
// lifetimes plain numbers. `stats` prints the hub's, endpoints' and back end's counters.
import { createInterface } from 'node:readline';
import { PipeDispatcher } from '../../../firmware/access/pipe-dispatcher.ts';
import { NativeEndpoint } from '../../../firmware/dataplane/native-endpoint.ts';
import { NativeHub } from '../../../firmware/dataplane/native-hub.ts';
import { NativePppSession, type PppDataSessionSpec } from '../../../firmware/dataplane/native-ppp.ts';
import { KernelXfrmDataPlane } from '../../../firmware/dataplane/kernel-xfrm.ts';
import type { DataPlane, SaSpec } from '../../../firmware/dataplane/types.ts';
import { UserspaceDataPlane, kernelRouteVia, kernelSteerVia } from '../../../firmware/dataplane/userspace.ts';
import { PosternError } from '../../../firmware/util/errors.ts';
import { Secret } from '../../../firmware/util/secret.ts';

export interface DataPlanePeerConfig {
  backEnd?: 'userspace' | 'kernel-xfrm';
  /** The gateway's outer address (IPv4 or IPv6): UDP 4500 and raw ESP are opened on it. */
  address: string;
  tunnelAddress: string;
  acquireHoldMs?: number;
  /** Queues (reading threads) of the shared TUN; the driver's default otherwise. */
  queues?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as DataPlanePeerConfig;
const kernel = config.backEnd === 'kernel-xfrm';
const hub = kernel ? undefined : NativeHub.open({ name: 'phub0', mtu: 1400, address: config.tunnelAddress, prefixLength: 32, ...(config.queues ? { queues: config.queues } : {}) });
const pipe = hub && new PipeDispatcher(hub);
const udpEndpoint = hub && NativeEndpoint.open(config.address, 4500, () => undefined);
const rawEndpoint = hub && NativeEndpoint.openRaw(config.address);
// The endpoints serve SAs of their address's family (issue 24: an IPv6 `address` gives IPv6 SAs theirs).
const v6 = config.address.includes(':');
const endpoints = {
  ...(udpEndpoint ? (v6 ? { udpEndpoint6: udpEndpoint } : { udpEndpoint }) : {}),
  ...(rawEndpoint ? (v6 ? { rawEndpoint6: rawEndpoint } : { rawEndpoint }) : {}),
};
const userspace = hub && pipe && new UserspaceDataPlane({
  hub, pipe, ...endpoints, tunnelAddress: config.tunnelAddress, kernelRoute: kernelRouteVia(hub.name), kernelSteer: kernelSteerVia(hub.name),
  ...(config.acquireHoldMs ? { acquireHoldMs: config.acquireHoldMs } : {}),
});
const dp: DataPlane = userspace ?? KernelXfrmDataPlane.open();
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
dp.subscribe((event) => process.stdout.write(`event ${json(event)}\n`));

type WireSa = Omit<SaSpec, 'keys' | 'lifetime'> & { keys: { encryption: string; integrity?: string }; lifetime?: Record<string, number> };
const saSpec = (w: WireSa): SaSpec => ({
  ...w,
  keys: { encryption: new Secret(Buffer.from(w.keys.encryption, 'hex')), ...(w.keys.integrity ? { integrity: new Secret(Buffer.from(w.keys.integrity, 'hex')) } : {}) },
  lifetime: Object.fromEntries(Object.entries(w.lifetime ?? {}).map(([k, v]) => [k, BigInt(v)])),
});

const pppSessions = new Map<number, NativePppSession>();
const calls: Record<string, (args: any[]) => Promise<unknown>> = {
  allocateSpi: (a) => dp.allocateSpi(a[0], a[1]),
  addSa: (a) => dp.addSa(saSpec(a[0] as WireSa)),
  updateSa: (a) => dp.updateSa(a[0], a[1]),
  querySa: (a) => dp.querySa(a[0]),
  deleteSa: (a) => dp.deleteSa(a[0]),
  addPolicy: (a) => dp.addPolicy(a[0]),
  deletePolicy: (a) => dp.deletePolicy(a[0]),
  // L2TP/IPsec (issue 20): a transport child's UDP to a port comes up as `event {"type":"udp-up",...}`; and the way back.
  deliverUdp: async (a) => userspace?.deliverUdp(a[0], a[1], (d) => process.stdout.write(`event ${json({ type: 'udp-up', reqid: a[0], datagram: d.toString('hex') })}\n`)),
  sendUdp: async (a) => userspace?.sendUdp(a[0], a[1], a[2], Buffer.from(a[3], 'hex')),
  // Issue 20: a PPP data session carried by the reqid's transport tunnel (false when the driver cannot), its counters, its release.
  pppOpen: async (a) => {
    const session = NativePppSession.open(a[1] as PppDataSessionSpec);
    if (!session || !userspace?.attachPppData(a[0], session)) return false;
    pppSessions.set(a[0], session);
    return true;
  },
  pppStats: async (a) => pppSessions.get(a[0])?.stats(),
  pppRelease: async (a) => (pppSessions.get(a[0])?.release(), pppSessions.delete(a[0])),
  stats: async (a) => ({ kind: dp.kind, backEnd: dp.stats(), hub: hub?.stats(), pipe: pipe?.counters, udp: udpEndpoint?.stats(), raw: rawEndpoint?.stats(), dataplane: userspace?.counters, tunnel: userspace?.tunnel(a[0] ?? 1)?.stats() }),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  void (async () => {
    try {
      const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
      const fn = calls[call];
      if (!fn) throw new Error(`unknown call ${call}`);
      process.stdout.write(`ok ${json((await fn(args)) ?? null)}\n`);
    } catch (error) {
      process.stdout.write(`error ${error instanceof PosternError ? error.code : 'ERROR'} ${error instanceof Error ? error.message : String(error)}\n`);
    }
  })();
});
process.on('SIGTERM', () => {
  void dp.close().then(() => {
    udpEndpoint?.close();
    rawEndpoint?.close();
    hub?.close();
    process.exit(0);
  });
});
process.stdout.write(`ready ${dp.kind}\n`);
