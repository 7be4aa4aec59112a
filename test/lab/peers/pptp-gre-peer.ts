// PPTP's GRE data channel (NativePptpGre) in a lab host, spoken to one JSON command per stdin line:
// `{"call":"add","args":[callId, peerCallId, peer, tag]}`, `remove`, `send` (frames of a size, a
// byte pattern from a counter so the receiver can check order), `received` (what came up: count,
// bytes, tags, whether every frame carried the next counter), `stats`. Answers `ok <json>`.
import { createInterface } from 'node:readline';
import { NativePptpGre } from '../../../firmware/dataplane/native-pptp.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { address: string };
const received = { frames: 0, bytes: 0, tags: [] as number[], inOrder: true, last: -1, first: '' };
const gre = NativePptpGre.open(config.address, (batch) => {
  for (const [tag, frame] of batch) {
    received.frames++;
    received.bytes += frame.length;
    if (!received.tags.includes(tag)) received.tags.push(tag);
    if (received.frames === 1) received.first = frame.toString('hex');
    // Frames of `send` carry a 32-bit counter first: each must be after the one before.
    if (frame.length >= 4) {
      const n = frame.readUInt32BE(0);
      if (n <= received.last) received.inOrder = false;
      received.last = n;
    }
  }
});
let counter = 0;
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));

const calls: Record<string, (a: any[]) => unknown> = {
  add: (a) => gre.addCall(a[0], a[1], a[2], a[3]),
  remove: (a) => gre.removeCall(a[0]),
  /** send(callId, count, size): returns how many the driver took. */
  send: (a) => {
    let sent = 0;
    for (let i = 0; i < a[1]; i++) {
      const frame = Buffer.alloc(a[2], 0x5a);
      frame.writeUInt32BE(counter++, 0);
      if (gre.send(a[0], frame)) sent++;
    }
    return sent;
  },
  received: () => received,
  stats: () => gre.stats(),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
    const fn = calls[call];
    if (!fn) throw new Error(`unknown call ${call}`);
    process.stdout.write(`ok ${json(fn(args) ?? null)}\n`);
  } catch (error) {
    process.stdout.write(`error ${error instanceof Error ? error.message : String(error)}\n`);
  }
});
process.on('SIGTERM', () => {
  gre.close();
  process.exit(0);
});
process.stdout.write('ready\n');
