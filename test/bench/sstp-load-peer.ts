// Postern's SSTP client as a load generator inside a lab host. Config: {host, port, servername, ca,
// count, concurrency, userPrefix, password, tun?: {name, route}}. stdin `go` (or `go N`: the next N
// of the count) → one line `result {...}` once every call is up or failed. With `tun`, the first call carries a TUN: packets to `route` go
// through SSTP, the gateway's answers come back into the TUN (for iperf3 through SSTP). `dataPath`
// (issue 23): the dialers' TLS, and the first call's IP once its TUN is up, in the driver (native,
// the default) or on Node's TLS and in JavaScript. `keyUpdateRecords`: the dialers' TLS 1.3 key is
// updated after that many records (the driver's RFC 8446 §5.5 allowance, lowered for a test);
// `kernelTls: false` keeps their records on OpenSSL, which can rekey. stdin `stats` → `stats {...}`:
// the first call's KeyUpdates, what the driver carried, and whether it ended.
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NativeHub } from '../../firmware/dataplane/native-hub.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { setDialKernelTls, setDialKeyUpdateRecords } from '../../firmware/sstp/client/driver-dial.ts';
import { SstpDialer } from '../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../firmware/util/secret.ts';

const c = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; servername: string; ca: string; count: number; concurrency: number; userPrefix: string; password: string; tun?: { name: string; route: string }; dataPath?: 'native' | 'javascript'; keyUpdateRecords?: number; kernelTls?: boolean };
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });
const dialers: SstpDialer[] = [];
let intoTun: ((packet: Uint8Array) => void) | undefined;
if (c.keyUpdateRecords) setDialKeyUpdateRecords(c.keyUpdateRecords);
if (c.kernelTls === false) setDialKernelTls(false);
let firstEnded: string | undefined;

/** Calls dialed so far: a later `go N` dials the next N users (the bench's warm-up batch, then the rest). */
let dialed = 0;

async function go(count: number): Promise<void> {
  const started = Date.now();
  let next = dialed;
  const end = Math.min(c.count, dialed + count);
  dialed = end;
  let up = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const d = new SstpDialer({
        host: c.host, port: c.port, servername: c.servername, ca: c.ca, user: `${c.userPrefix}${i}`, password: new Secret(c.password), logger, dataPath: c.dataPath ?? 'native',
        ...(i === 0 && c.tun ? { onIp: (p: Uint8Array) => intoTun?.(p) } : {}),
      });
      dialers.push(d);
      try {
        const ipcp = await d.ready;
        up++;
        if (i === 0 && c.tun) attachTun(d, ipcp.localAddress ?? '0.0.0.0');
        if (i === 0) void d.closed.then((why) => (firstEnded = String(why ?? 'closed')), (e: unknown) => (firstEnded = String(e)));
      } catch (e) {
        failed++;
        const why = (e as Error).message.slice(0, 80);
        errors.set(why, (errors.get(why) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  console.log(`result ${JSON.stringify({ up, failed, seconds, perSecond: up / seconds, errors: Object.fromEntries(errors), rss: process.memoryUsage().rss })}`);
}

function attachTun(d: SstpDialer, address: string): void {
  const tun = c.tun!;
  const hub = NativeHub.open({ name: tun.name, mtu: 1350, address, prefixLength: 32 }); // offloads, as a gateway's shared TUN
  hub.attachPipe((batch) => {
    for (const [, packet] of batch) d.sendIp(packet);
  });
  hub.routeToPipe(tun.route, 1);
  execFileSync('ip', ['route', 'replace', tun.route, 'dev', hub.name, 'src', address]);
  intoTun = (p) => void hub.write(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  d.routed({ hub, subnets: [tun.route] }); // the route's IP between the TUN and the call in the driver, when the call is there
  console.log(`log ${JSON.stringify({ msg: 'first call', tls: d.tlsIn })}`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    const first = dialers[0];
    return console.log(`stats ${JSON.stringify({ keyUpdates: first?.tlsKeyUpdates(), carried: first?.driverCarried(), ended: firstEnded ?? null })}`);
  }
  const m = /^go(?: (\d+))?$/.exec(line.trim());
  if (m) void go(m[1] ? Number(m[1]) : c.count);
});
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
