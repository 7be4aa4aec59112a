// SSTP churn: Postern's SSTP client dials `cycles` calls, `concurrency` at a time; each call pings
// `target` `pings` times through the tunnel (ICMP built here, answers counted), hangs up and the
// next one dials. Config: {host, port, servername, ca, cycles, concurrency, users, userPrefix,
// password, target, pings}. stdin `go` → `ok`, then one line `result {...}`.
import { createInterface } from 'node:readline';
import { createLogger } from '../../firmware/log/logger.ts';
import { SstpDialer } from '../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../firmware/util/secret.ts';

interface Config { host: string; port: number; servername: string; ca: string; cycles: number; concurrency: number; users: number; userPrefix: string; password: string; target: string; pings: number }
const c = JSON.parse(process.argv[2] ?? '{}') as Config;
const logger = createLogger({ level: 'error', sink: () => {} });

const sum16 = (b: Buffer) => {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};

/** An IPv4 ICMP echo request (RFC 792) from `source` to `destination`. */
function echoRequest(source: string, destination: string, id: number, seq: number): Buffer {
  const icmp = Buffer.alloc(8 + 56);
  icmp[0] = 8;
  icmp.writeUInt16BE(id, 4);
  icmp.writeUInt16BE(seq, 6);
  icmp.writeUInt16BE(sum16(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip[8] = 64;
  ip[9] = 1;
  Buffer.from(source.split('.').map(Number)).copy(ip, 12);
  Buffer.from(destination.split('.').map(Number)).copy(ip, 16);
  ip.writeUInt16BE(sum16(ip), 10);
  return Buffer.concat([ip, icmp]);
}

const isEchoReply = (p: Uint8Array) => p.length >= 28 && (p[0]! >> 4) === 4 && p[9] === 1 && p[20] === 0;

async function oneCall(n: number): Promise<{ ok: boolean; replies: number; why?: string }> {
  let replies = 0;
  const d = new SstpDialer({
    host: c.host, port: c.port, servername: c.servername, ca: c.ca, user: `${c.userPrefix}${n % c.users}`, password: new Secret(c.password), logger,
    onIp: (p) => void (isEchoReply(p) && replies++),
  });
  try {
    const ipcp = await d.ready;
    const source = ipcp.localAddress ?? '0.0.0.0';
    for (let i = 0; i < c.pings; i++) d.sendIp(echoRequest(source, c.target, n & 0xffff, i));
    const deadline = Date.now() + 2000;
    while (replies < c.pings && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
    d.disconnect();
    await Promise.race([d.closed, new Promise((done) => setTimeout(done, 3000))]);
    return { ok: true, replies };
  } catch (e) {
    d.disconnect();
    return { ok: false, replies, why: (e as Error).message.slice(0, 80) };
  }
}

async function go(): Promise<void> {
  const started = Date.now();
  let next = 0;
  let done = 0;
  let failed = 0;
  let replies = 0;
  const errors = new Map<string, number>();
  const worker = async () => {
    while (next < c.cycles) {
      const r = await oneCall(next++);
      replies += r.replies;
      if (r.ok) done++;
      else {
        failed++;
        errors.set(r.why ?? '?', (errors.get(r.why ?? '?') ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  console.log(`result ${JSON.stringify({ done, failed, replies, sent: c.cycles * c.pings, seconds, perSecond: done / seconds, errors: Object.fromEntries(errors) })}`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'go') return;
  console.log('ok');
  void go();
});
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
