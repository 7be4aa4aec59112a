// The shared dialed PPP site (SSTP, L2TP): routes while the call is up, the source check on what comes
// out of the tunnel, up/down reported once each, and the redial with backoff after a lost call.
import t from 'tap';
import type { AccessResources } from '../../../firmware/access/access-resources.ts';
import type { PipeDispatcher } from '../../../firmware/access/pipe-dispatcher.ts';
import type { SiteConfig } from '../../../firmware/config/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { PppSiteLink, type PppSiteCall } from '../../../firmware/sites/ppp-site-link.ts';

const site: SiteConfig = { name: 'hq', protocol: 'l2tp', remote: '203.0.113.2', localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true };

function fakeCall() {
  let up!: (v: { localAddress: string }) => void;
  let fail!: (e: Error) => void;
  let close!: (why: string) => void;
  const sent: Uint8Array[] = [];
  const call: PppSiteCall & { hungUp: boolean } = {
    ready: new Promise((resolve, reject) => { up = resolve; fail = reject; }),
    closed: new Promise((resolve) => (close = resolve)),
    sendIp: (p) => void sent.push(p),
    disconnect() { this.hungUp = true; },
    hungUp: false,
  };
  call.ready.catch(() => undefined);
  return { call, up, fail, close, sent };
}

const ipv4From = (source: string) => Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, ...source.split('.').map(Number), 10, 1, 0, 10]);
const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('up: routed and reported; out of the tunnel only from the site\'s networks; lost: reported, unrouted, dialed again', async (t) => {
  const routes: string[] = [];
  const written: Uint8Array[] = [];
  let handler: ((p: Uint8Array) => void) | undefined;
  const pipe = { register: (h: (p: Uint8Array) => void) => ((handler = h), 7), route: (_tag: number, prefix: string) => void routes.push(`pipe ${prefix}`), unregister: () => void routes.push('pipe off'), write: (p: Uint8Array) => (written.push(p), true) } as unknown as PipeDispatcher;
  const access = { routeToTun: (prefixes: readonly string[], add: boolean) => void routes.push(`${add ? '+' : '-'}${prefixes.join(',')}`) } as unknown as AccessResources;
  const calls: Array<ReturnType<typeof fakeCall>> = [];
  const hooks: Array<{ onIp: (p: Uint8Array) => void }> = [];
  const changes: string[] = [];
  const link = new PppSiteLink<'ipsec' | 'tunnel'>({
    site, label: 'L2TP', pipe, access, log: createLogger({ sink: () => {} }),
    onStateChange: (name, state, why) => void changes.push(`${name} ${state} ${why}`),
    dial: (h) => { const c = fakeCall(); calls.push(c); hooks.push(h); return c.call; },
  });
  link.dial();
  t.equal(link.state, 'connecting');
  calls[0]!.up({ localAddress: '10.10.0.2' });
  await tick();
  t.equal(link.state, 'established');
  t.same(routes, ['pipe 10.2.0.0/24', '+10.2.0.0/24'], 'the remote networks go to the call');
  t.same(changes, ['hq up call up']);

  handler!(ipv4From('10.1.0.10'));
  t.equal(calls[0]!.sent.length, 1, 'the LAN\'s packet goes into the call');
  hooks[0]!.onIp(ipv4From('10.2.0.10'));
  hooks[0]!.onIp(ipv4From('192.0.2.66'));
  t.equal(written.length, 1, 'only the site\'s own networks come out of the tunnel');
  t.match(link.snapshot(), { name: 'hq', state: 'established', rxPackets: 1, txPackets: 1 });
  t.equal(link.counters.droppedSource, 1);

  calls[0]!.close('L2TP tunnel closed: peer sent StopCCN');
  await tick();
  t.equal(link.state, 'down');
  t.same(changes, ['hq up call up', 'hq down L2TP tunnel closed: peer sent StopCCN'], 'down reported once, with why');
  t.same(routes.slice(2), ['pipe off', '-10.2.0.0/24'], 'unrouted');
  t.ok(link.snapshot().nextRetryAt !== undefined, 'a redial is scheduled');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal(calls.length, 2, 'dialed again after a second');
  link.stop();
  t.ok(calls[1]!.call.hungUp, 'stop hangs up the call in progress');
});

t.test('a dial that never comes up is not reported as a tunnel going down', async (t) => {
  const changes: string[] = [];
  const pipe = { register: () => 1, route: () => {}, unregister: () => {}, write: () => true } as unknown as PipeDispatcher;
  const access = { routeToTun: () => {} } as unknown as AccessResources;
  let c!: ReturnType<typeof fakeCall>;
  const link = new PppSiteLink<'ipsec'>({ site, label: 'L2TP', pipe, access, log: createLogger({ sink: () => {} }), onStateChange: (n, s) => void changes.push(`${n} ${s}`), dial: () => ((c = fakeCall()), c.call) });
  link.dial();
  c.fail(new Error('IPsec with 203.0.113.2 did not come up within 20 s'));
  c.close('IPsec with 203.0.113.2 did not come up within 20 s');
  await tick();
  t.same(changes, []);
  t.match(link.snapshot(), { state: 'down', lastError: { reason: /did not come up/ } });
  link.stop();
});
