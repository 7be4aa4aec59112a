// Postern's own SSTP client (SstpDialer) holding named calls in a lab host, checking the gateway's
// certificate against a CA and its name, and pinging through each call with hand-made ICMP echoes.
// Config (JSON argument): {host, port, servername, ca, password}; a user per call (the pool keeps one address per user).
// {"call":"dial","args":[label, user]} → ok {address, serial} (the certificate the gateway presented);
// {"call":"ping","args":[label, destination, count]} → ok {sent, received}; {"call":"hangup"}.
import { createInterface } from 'node:readline';
import { createLogger } from '../../../firmware/log/logger.ts';
import { SstpDialer } from '../../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const c = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; servername: string; ca: string; password: string };
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });
const calls = new Map<string, { dialer: SstpDialer; address: string; replies: Set<number> }>();

const sum = (b: Buffer): number => {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};

/** An IPv4 ICMP echo request (RFC 792) with identifier 0x5057 and the given sequence number. */
function echo(from: string, to: string, seq: number): Buffer {
  const icmp = Buffer.alloc(16);
  icmp.writeUInt8(8, 0);
  icmp.writeUInt16BE(0x5057, 4);
  icmp.writeUInt16BE(seq, 6);
  icmp.write('postern!', 8);
  icmp.writeUInt16BE(sum(icmp), 2);
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(1, 9);
  Buffer.from(from.split('.').map(Number)).copy(ip, 12);
  Buffer.from(to.split('.').map(Number)).copy(ip, 16);
  ip.writeUInt16BE(sum(ip), 10);
  return Buffer.concat([ip, icmp]);
}

async function dial(label: string, user: string): Promise<{ address: string; serial: string }> {
  let serial = '';
  const replies = new Set<number>();
  const dialer = new SstpDialer({
    host: c.host, port: c.port, servername: c.servername, ca: c.ca, user, password: new Secret(c.password), logger,
    // Asked with the verified certificate before the call goes on: kept to tell which one was served.
    checkRevocation: async (certificate) => void (serial = certificate.serialNumber),
    onIp: (p) => {
      const b = Buffer.from(p);
      const ihl = (b[0]! & 0x0f) * 4;
      if (b[9] === 1 && b[ihl] === 0 && b.readUInt16BE(ihl + 4) === 0x5057) replies.add(b.readUInt16BE(ihl + 6));
    },
  });
  const timer = setTimeout(() => dialer.disconnect(), 15_000);
  const ipcp = await dialer.ready.finally(() => clearTimeout(timer));
  const address = ipcp.localAddress ?? '';
  calls.set(label, { dialer, address, replies });
  return { address, serial };
}

async function ping(label: string, destination: string, count: number): Promise<{ sent: number; received: number }> {
  const call = calls.get(label);
  if (!call) throw new Error(`no call '${label}'`);
  call.replies.clear();
  for (let seq = 1; seq <= count; seq++) {
    call.dialer.sendIp(echo(call.address, destination, seq));
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  return { sent: count, received: call.replies.size };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
  const answer = (p: Promise<unknown>) => p.then((v) => console.log(`ok ${JSON.stringify(v)}`), (e: unknown) => console.log(`error ${e instanceof Error ? e.message : String(e)}`));
  if (call === 'dial') void answer(dial(String(args[0]), String(args[1])));
  else if (call === 'ping') void answer(ping(String(args[0]), String(args[1]), Number(args[2] ?? 3)));
  else if (call === 'hangup') {
    for (const { dialer } of calls.values()) dialer.disconnect();
    console.log('ok "hung up"');
  } else console.log(`error unknown call ${call}`);
}).on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
