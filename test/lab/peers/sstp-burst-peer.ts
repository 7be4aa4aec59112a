// Postern's own SSTP client (SstpDialer) holding many calls from one lab process: a burst of whole
// SSTP sessions (TLS, SSTP, PPP authentication, crypto binding, IPCP) dialed all at once, and a
// steady call pinging through the gateway every 100 ms while the burst runs. Config (JSON argument):
// {host, port, fingerprint, password}.
//   {"call":"burst","args":[userPrefix, count, deadlineMs]} → ok {up, failed, firstTry, attempts, ms, addresses, errors}
//     (every call dialed at the same moment, a failed one dialed again 1 s later; one not up by the deadline failed)
//   {"call":"steady","args":[user, destination]} → ok {address} once up; then an echo every 100 ms
//   {"call":"steadyStats"} → ok {sent, received, lost, maxRttMs, closed} (lost: not answered yet; echoes
//     younger than 2 s are not judged yet, so a late answer still counts as received, its time in maxRttMs)
//   {"call":"hangup"} → every call disconnected
import { createInterface } from 'node:readline';
import { createLogger } from '../../../firmware/log/logger.ts';
import { SstpDialer } from '../../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { echoReplySeq, echoRequest } from '../../bench/l2tp-sessions-plan.ts';

const c = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; fingerprint: string; password: string };
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });
const calls: SstpDialer[] = [];
const ANSWER_MS = 2000;

const dialer = (user: string, onIp?: (p: Uint8Array) => void) => {
  const d = new SstpDialer({ host: c.host, port: c.port, fingerprint: c.fingerprint, user, password: new Secret(c.password), logger, ...(onIp ? { onIp } : {}) });
  calls.push(d);
  return d;
};

async function burst(prefix: string, count: number, deadlineMs: number): Promise<unknown> {
  const started = Date.now();
  const errors: Record<string, number> = {};
  const addresses: string[] = [];
  let attempts = 0;
  let firstTry = 0;
  const late = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`not up within ${deadlineMs} ms`)), deadlineMs).unref());
  late.catch(() => {});
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    for (let attempt = 1; Date.now() - started < deadlineMs; attempt++) {
      attempts++;
      const d = dialer(`${prefix}${i}`);
      try {
        const ipcp = await Promise.race([d.ready, late]);
        addresses.push(ipcp.localAddress ?? '?');
        if (attempt === 1) firstTry++;
        return;
      } catch (e) {
        d.disconnect();
        const why = (e as Error).message.slice(0, 80);
        errors[why] = (errors[why] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }));
  return { up: addresses.length, failed: count - addresses.length, firstTry, attempts, ms: Date.now() - started, addresses, errors };
}

/** The steady call's echoes: when each left, and how long its answer took (absent: none yet). */
const echoes = new Map<number, { at: number; rttMs?: number }>();
let steadyClosed = false;

async function steady(user: string, destination: string): Promise<{ address: string }> {
  let address = '';
  const d = dialer(user, (p) => {
    const seq = echoReplySeq(p, address);
    const echo = seq === undefined ? undefined : echoes.get(seq);
    if (echo && echo.rttMs === undefined) echo.rttMs = Date.now() - echo.at;
  });
  void d.closed.then(() => (steadyClosed = true), () => (steadyClosed = true));
  address = (await d.ready).localAddress ?? '';
  let seq = 0;
  setInterval(() => {
    seq = (seq + 1) & 0xffff;
    echoes.set(seq, { at: Date.now() });
    d.sendIp(echoRequest(address, destination, seq));
  }, 100);
  return { address };
}

function steadyStats(): unknown {
  const now = Date.now();
  const settled = [...echoes.values()].filter((e) => e.rttMs !== undefined || now - e.at > ANSWER_MS);
  const answered = settled.filter((e) => e.rttMs !== undefined);
  return { sent: settled.length, received: answered.length, lost: settled.length - answered.length, maxRttMs: Math.max(0, ...answered.map((e) => e.rttMs!)), closed: steadyClosed };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { call, args = [] } = JSON.parse(line) as { call: string; args?: unknown[] };
  const answer = (p: Promise<unknown>) => p.then((v) => console.log(`ok ${JSON.stringify(v)}`), (e: unknown) => console.log(`error ${e instanceof Error ? e.message : String(e)}`));
  if (call === 'burst') void answer(burst(String(args[0]), Number(args[1]), Number(args[2] ?? 60_000)));
  else if (call === 'steady') void answer(steady(String(args[0]), String(args[1])));
  else if (call === 'steadyStats') void answer(Promise.resolve(steadyStats()));
  else if (call === 'hangup') {
    for (const d of calls) d.disconnect();
    console.log('ok "hung up"');
  } else console.log(`error unknown call ${call}`);
}).on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
