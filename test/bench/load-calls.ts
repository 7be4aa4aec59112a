// The driving side of the calls benchmarks' load peers (L2TP/IPsec, PPTP): client after client
// called a few at a time, batches going on where the last stopped, one ICMP echo through every call
// that is up, and the line protocol the benchmark speaks on stdin/stdout:
//   `go K`       → `result {...}` once the next K calls (all that are left without K) are up or failed
//   `ping DEST`  → `pinged {...}` after one echo through every call that is up (the missing asked
//                  twice more: a loaded machine drops a few)
//   `quit`
import { createInterface } from 'node:readline';
import { echoReplySeq, echoRequest } from './l2tp-sessions-plan.ts';

export interface LoadCall {
  readonly index: number;
  /** The call's PPP address once IPCP is up. */
  pppAddress?: string;
  replied?: boolean;
}

export interface LoadCalls<T extends LoadCall> {
  readonly clients: readonly T[];
  /** Sets up client's call; resolves once it is up (pppAddress set), rejects when it fails. */
  readonly call: (client: T) => Promise<void>;
  /** Sends an IP packet through client's call. */
  readonly sendIp: (client: T, packet: Uint8Array) => void;
  readonly concurrency: number;
  /** Opens the clients' sockets after `ready` (a thousand take a while on a busy machine); `go` waits for it. */
  readonly prepare?: () => Promise<void>;
}

/** For a call's `onIp`: marks the client answered when the packet is the reply to its echo. */
export function noteEchoReply(client: LoadCall, packet: Uint8Array): void {
  if (client.pppAddress && echoReplySeq(packet, client.pppAddress) === client.index) client.replied = true;
}

export function serveLoadCalls<T extends LoadCall>(load: LoadCalls<T>): void {
  let next = 0;
  let prepared: Promise<void> | undefined;
  const go = async (batch: number) => {
    await prepared;
    const started = performance.now();
    const end = Math.min(load.clients.length, next + batch);
    let up = 0;
    let failed = 0;
    const errors = new Map<string, number>();
    const worker = async () => {
      while (next < end) {
        const client = load.clients[next++]!;
        try {
          await load.call(client);
          up++;
        } catch (e) {
          failed++;
          const why = (e as Error).message.slice(0, 80);
          errors.set(why, (errors.get(why) ?? 0) + 1);
        }
      }
    };
    // Progress in the peer's log (a `log ` line is no answer): where a slow run spends its time.
    const progress = setInterval(() => console.log(`log progress ${JSON.stringify({ seconds: Math.round((performance.now() - started) / 1000), up, failed, rss: process.memoryUsage().rss })}`), 10_000);
    await Promise.all(Array.from({ length: load.concurrency }, worker));
    clearInterval(progress);
    const seconds = (performance.now() - started) / 1000;
    console.log(`result ${JSON.stringify({ up, failed, seconds, perSecond: up / seconds, errors: Object.fromEntries(errors) })}`);
  };
  const ping = async (destination: string) => {
    const up = load.clients.filter((x) => x.pppAddress);
    for (let round = 0; round < 3; round++) {
      const missing = up.filter((x) => !x.replied);
      if (missing.length === 0) break;
      for (const x of missing) load.sendIp(x, echoRequest(x.pppAddress!, destination, x.index));
      const deadline = Date.now() + 6_000;
      while (Date.now() < deadline && up.some((x) => !x.replied)) await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`pinged ${JSON.stringify({ calls: up.length, answered: up.filter((x) => x.replied).length })}`);
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, arg] = line.trim().split(' ');
    if (command === 'go') void go(arg ? Number(arg) : load.clients.length);
    else if (command === 'ping' && arg) void ping(arg);
    else if (command === 'quit') process.exit(0);
  });
  process.on('SIGTERM', () => process.exit(0));
  console.log('ready');
  prepared = load.prepare?.();
}
