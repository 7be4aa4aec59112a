// PPTP load (issue 22): Postern's own PPTP client (pptp-dialer.ts) as many callers in one process,
// each from its own address (added to the host by the benchmark), each a whole call: the TCP 1723
// control connection, an outgoing call, and PPP over the driver's enhanced GRE (LCP, MS-CHAPv2,
// CCP with MPPE-128 stateless, IPCP). Each dialer opens its GRE channel on its own address (a raw
// socket bound there sees only its own packets).
//
// Config: {target, count, concurrency, password}; client i calls from clientAddress(i) as userName(i).
// The line protocol on stdin/stdout: load-calls.ts.
import { createLogger } from '../../firmware/log/logger.ts';
import { PptpDialer } from '../../firmware/pptp/pptp-dialer.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { clientAddress, userName } from './l2tp-sessions-plan.ts';
import { noteEchoReply, serveLoadCalls, type LoadCall } from './load-calls.ts';

interface LoadConfig { target: string; count: number; concurrency: number; password: string }
const c = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const logger = createLogger({ level: 'warn', sink: (r) => console.log(`log ${JSON.stringify(r)}`) });

interface Client extends LoadCall { readonly address: string; dialer?: PptpDialer }

async function call(client: Client): Promise<void> {
  const dialer = new PptpDialer({
    host: c.target, localAddress: client.address, hostName: `load${client.index}`, user: userName(client.index), password: new Secret(c.password), logger,
    onIp: (packet) => noteEchoReply(client, packet),
  });
  client.dialer = dialer;
  const timer = setTimeout(() => dialer.disconnect(), 60_000).unref();
  const ipcp = await dialer.ready.finally(() => clearTimeout(timer));
  client.pppAddress = ipcp.localAddress ?? '';
}

serveLoadCalls<Client>({
  clients: Array.from({ length: c.count }, (_, index) => ({ index, address: clientAddress(index) })),
  call, sendIp: (client, packet) => client.dialer?.sendIp(packet), concurrency: c.concurrency,
});
