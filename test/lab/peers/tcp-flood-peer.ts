// A connection flood from a lab host, as issue 15's attacker made it: many TCP connections that never
// send a byte, spread over the host's source addresses, each reopened when the server closes it.
// Bounded: at most `count` at a time, at most `reopenPerSecond` reopened, nothing after `seconds`.
// Config (JSON argument): {host, port, sources, count, seconds, reopenPerSecond, inFlight?}.
// Lines: {"call":"stats"} → ok {...}; {"call":"pause"} stops reopening (what is open stays open);
// {"call":"stop"} closes everything; event {"type":"flooding",...} once `count` attempts were answered.
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const c = JSON.parse(process.argv[2] ?? '{}') as {
  host: string; port: number; sources: string[]; count: number; seconds: number; reopenPerSecond: number; inFlight?: number;
};
const open = new Set<Socket>();
const stats = { attempts: 0, connected: 0, failed: 0, closedByServer: 0, open: 0, peakOpen: 0 };
const waiting: number[] = []; // slots whose socket the server closed, to be reopened
let connecting = 0;
let stopped = false;
let paused = false;
let announced = false;
const started = Date.now();

function openSlot(slot: number): void {
  if (stopped) return;
  stats.attempts++;
  connecting++;
  const source = c.sources[slot % c.sources.length]!;
  const socket = connect({ host: c.host, port: c.port, localAddress: source });
  let up = false;
  socket.on('connect', () => {
    up = true;
    connecting--;
    stats.connected++;
    open.add(socket);
    stats.open = open.size;
    stats.peakOpen = Math.max(stats.peakOpen, open.size);
    announce();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (up) {
      open.delete(socket);
      stats.open = open.size;
      stats.closedByServer += stopped ? 0 : 1;
    } else {
      connecting--;
      stats.failed++;
      announce();
    }
    if (!stopped && !paused) waiting.push(slot);
  });
}

function announce(): void {
  if (announced || stats.connected + stats.failed < c.count) return;
  announced = true;
  console.log(`event ${JSON.stringify({ type: 'flooding', ms: Date.now() - started, ...stats })}`);
}

// First pass: `count` slots, a bounded number of handshakes in flight (the server's accept queue is finite).
let next = 0;
const firstPass = setInterval(() => {
  while (next < c.count && connecting < (c.inFlight ?? 256)) openSlot(next++);
  if (next >= c.count) clearInterval(firstPass);
}, 5);

// Reopening, at a bounded rate: every 10 ms a hundredth of the per-second budget.
const reopen = setInterval(() => {
  const n = Math.max(1, Math.floor(c.reopenPerSecond / 100));
  for (let i = 0; i < n && waiting.length > 0; i++) openSlot(waiting.shift()!);
}, 10);

function stop(): typeof stats {
  stopped = true;
  clearInterval(firstPass);
  clearInterval(reopen);
  for (const s of open) s.destroy();
  return { ...stats, open: open.size };
}
setTimeout(stop, c.seconds * 1000).unref();

createInterface({ input: process.stdin }).on('line', (line) => {
  const { call } = JSON.parse(line) as { call: string };
  if (call === 'stats') console.log(`ok ${JSON.stringify({ ...stats, flooding: !stopped, ms: Date.now() - started })}`);
  else if (call === 'pause') {
    paused = true;
    waiting.length = 0;
    console.log(`ok ${JSON.stringify(stats)}`);
  } else if (call === 'stop') console.log(`ok ${JSON.stringify(stop())}`);
  else console.log(`error unknown call ${call}`);
}).on('close', () => process.exit(0)); // the test is gone: so is the flood
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
