// A shared TUN whose routes lead to JavaScript sessions (the hub's pipe), started inside a lab host:
// every ICMP echo request routed to a session is answered by writing the reply back into the TUN,
// so the host's own ping proves the whole path TUN → hub → pipe → JavaScript → TUN.
// stdin: `route PREFIX TAG`, `unroute TAG`, `stats`; each answered with one line.
import { createInterface } from 'node:readline';
import { NativeHub } from '../../../firmware/dataplane/native-hub.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { name: string; address: string; prefixLength: number; offload?: boolean };
const hub = NativeHub.open({ name: config.name, mtu: 1400, address: config.address, prefixLength: config.prefixLength, ...(config.offload === false ? { offload: false } : {}) });
const perTag = new Map<number, number>();
let written = 0;

/** RFC 1071 over the ICMP message. */
function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i);
  if (bytes.length % 2) sum += (bytes[bytes.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function echoReply(packet: Buffer): Buffer | undefined {
  const ihl = ((packet[0] as number) & 0x0f) * 4;
  if (packet[0]! >> 4 !== 4 || packet[9] !== 1 || packet[ihl] !== 8) return undefined;
  const reply = Buffer.from(packet);
  packet.copy(reply, 12, 16, 20); // source ← destination
  packet.copy(reply, 16, 12, 16); // destination ← source
  reply[ihl] = 0; // echo reply; the IP checksum is unchanged by swapping two of its words
  reply.writeUInt16BE(0, ihl + 2);
  reply.writeUInt16BE(checksum(reply.subarray(ihl)), ihl + 2);
  return reply;
}

hub.attachPipe((batch) => {
  for (const [tag, packet] of batch) {
    perTag.set(tag, (perTag.get(tag) ?? 0) + 1);
    const reply = echoReply(packet);
    if (reply && hub.write(reply)) written++;
  }
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, a, b] = line.trim().split(/\s+/);
  try {
    if (command === 'route') hub.routeToPipe(a ?? '', Number(b));
    else if (command === 'unroute') hub.unroutePipe(Number(a));
    else if (command === 'stats') {
      const s = hub.pipeStats();
      const h = hub.stats();
      return console.log(`stats ${JSON.stringify({ perTag: Object.fromEntries(perTag), written, queued: Number(s?.queued), delivered: Number(s?.delivered), droppedFull: Number(s?.droppedFull), noRoute: Number(h?.noRoute) })}`);
    }
    console.log(`ok ${command}`);
  } catch (error) {
    console.log(`error ${(error as Error).message}`);
  }
});
process.on('SIGTERM', () => process.exit(0));
console.log(`ready ${hub.name}`);
