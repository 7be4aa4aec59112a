// Postern's own SSTP client (SstpDialer) in a lab host, as a real user would dial: attempt after
// attempt until the call is up (IPCP done) or the deadline passes. Config (JSON argument):
// {host, port, fingerprint, user, password, auth?: 'mschapv2' | 'eap'}. {"call":"dial","args":[label, deadlineMs, retryMs, attemptMs]}
// → ok "started", then event {"type":"dialed", label, ok, ms, attempts, errors, address?, dns?}.
import { createInterface } from 'node:readline';
import { createLogger } from '../../../firmware/log/logger.ts';
import { SstpDialer } from '../../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const c = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; fingerprint: string; user: string; password: string; auth?: 'mschapv2' | 'eap' };
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });
const calls: SstpDialer[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt: the call's addresses, or why not (a stalled attempt is given up after `attemptMs`). */
async function attempt(attemptMs: number): Promise<{ address: string; dns: string[] } | { error: string }> {
  const d = new SstpDialer({ host: c.host, port: c.port, fingerprint: c.fingerprint, user: c.user, password: new Secret(c.password), ...(c.auth ? { auth: c.auth } : {}), logger });
  calls.push(d);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`no call within ${attemptMs} ms`)), attemptMs)));
  try {
    const ipcp = await Promise.race([d.ready, late]);
    return { address: ipcp.localAddress ?? '?', dns: [ipcp.dns1, ipcp.dns2].filter((d) => d !== undefined) };
  } catch (e) {
    return { error: (e as Error).message.slice(0, 80) };
  } finally {
    clearTimeout(timer);
  }
}

async function dial(label: string, deadlineMs: number, retryMs: number, attemptMs: number): Promise<void> {
  const started = Date.now();
  const errors: Record<string, number> = {};
  let attempts = 0;
  while (Date.now() - started < deadlineMs) {
    attempts++;
    const r = await attempt(Math.min(attemptMs, Math.max(1, deadlineMs - (Date.now() - started))));
    if ('address' in r) {
      console.log(`event ${JSON.stringify({ type: 'dialed', label, ok: true, ms: Date.now() - started, attempts, errors, address: r.address, dns: r.dns })}`);
      return;
    }
    errors[r.error] = (errors[r.error] ?? 0) + 1;
    await sleep(retryMs);
  }
  console.log(`event ${JSON.stringify({ type: 'dialed', label, ok: false, ms: Date.now() - started, attempts, errors })}`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { call, args = [] } = JSON.parse(line) as { call: string; args?: [string?, number?, number?, number?] };
  if (call === 'dial') {
    console.log('ok "started"');
    void dial(args[0] ?? 'dial', args[1] ?? 10_000, args[2] ?? 250, args[3] ?? 5_000);
  } else if (call === 'hangup') {
    for (const d of calls) d.disconnect();
    console.log('ok "hung up"');
  } else console.log(`error unknown call ${call}`);
}).on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
