// The PPP link's phases (RFC 1661 §3.2) on both sides: gateway (link.ts) and client (client-link.ts),
// over a simulated wire. The authentication methods here are small doubles under the PAP number (the
// real methods have their own tests); what is tested is the link: phase order, drops, closing.
import t from 'tap';
import { PppProtocol } from '../../../firmware/ppp/frame.ts';
import { PppClientLink, type ClientLinkAction, type PppAuthPeer } from '../../../firmware/ppp/client-link.ts';
import { PppLink, type LinkAction, type PppAuthenticator } from '../../../firmware/ppp/link.ts';
import { encodePppFrame } from '../../../firmware/ppp/frame.ts';
import { PppWire } from '../../helpers/ppp-wire.ts';
import { seeded, seededBytes } from './sim.ts';

const text = (s: string) => new TextEncoder().encode(s);

/** Gateway side double: the first packet "user:password" decides. */
const checker = (password: string): PppAuthenticator => ({
  protocol: PppProtocol.PAP,
  start: () => ({ send: [] }),
  receive: (packet) => {
    const [user, given] = new TextDecoder().decode(packet).split(':');
    return given === password ? { send: [text('ok')], outcome: { ok: true, user: user ?? '' } } : { send: [text('no')], outcome: { ok: false, user: user ?? '', reason: 'wrong password' } };
  },
  tick: () => ({ send: [] }),
  nextTimeout: () => undefined,
});

/** Client side double: speaks first, retransmits every 3 s until answered. */
function sender(user: string, password: string): PppAuthPeer {
  let due: number | undefined;
  const packet = text(`${user}:${password}`);
  return {
    protocol: PppProtocol.PAP,
    start: (now) => ((due = now + 3000), { send: [packet] }),
    receive: (answer) => {
      due = undefined;
      return new TextDecoder().decode(answer) === 'ok' ? { send: [], outcome: { ok: true, user } } : { send: [], outcome: { ok: false, reason: 'refused' } };
    },
    tick: (now) => (due !== undefined && now >= due ? ((due = now + 3000), { send: [packet] }) : { send: [] }),
    nextTimeout: () => due,
  };
}

function pair(password: string, options: { loss?: number; seed?: number; pool?: string | undefined } = {}) {
  let leases = 0;
  const gateway = new PppLink({
    lcp: { random: seededBytes(options.seed ?? 1), auth: ['pap'] },
    createAuthenticator: (m) => (m === 'pap' ? checker('secret') : undefined),
    ipcp: { localAddress: '10.0.0.1', allocate: () => (leases++, options.pool === undefined && 'pool' in options ? undefined : { ip: options.pool ?? '10.10.0.7', dns1: '10.0.0.53' }) },
  });
  const client = new PppClientLink({ lcp: { random: seededBytes((options.seed ?? 1) + 100), acceptAuth: ['pap'] }, createAuthPeer: (m) => (m === 'pap' ? sender('alice', password) : undefined) });
  const rng = seeded(options.seed ?? 7);
  const loss = options.loss ?? 0;
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client, () => rng() < loss);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  return { gateway, client, wire, leases: () => leases };
}

t.test('LCP, then authentication, then IPCP: the client gets its address and DNS, IP flows both ways', async (t) => {
  const { gateway, client, wire } = pair('secret');
  t.ok(wire.run(10_000, () => wire.seenA.some((a) => a.type === 'network-up') && wire.seenB.some((a) => a.type === 'network-up')), 'both network layers up');
  t.equal(gateway.phase, 'network');
  t.equal(client.phase, 'network');
  t.equal(gateway.user, 'alice');
  const order = wire.seenA.map((a) => a.type).filter((x) => x === 'authenticated' || x === 'network-up');
  t.same(order, ['authenticated', 'network-up'], 'authentication before the network phase');
  const up = wire.seenB.find((a) => a.type === 'network-up');
  t.match(up, { ipv4: { localAddress: '10.10.0.7', peerAddress: '10.0.0.1', dns1: '10.0.0.53' } });
  const ip = Uint8Array.from([0x45, ...new Array(19).fill(0)]);
  wire.inject(1, encodePppFrame({ protocol: PppProtocol.IPv4, information: ip }, { addressControl: true }));
  wire.inject(0, encodePppFrame({ protocol: PppProtocol.IPv4, information: ip }, { addressControl: false }));
  wire.run(wire.now + 100);
  t.ok(wire.seenA.some((a) => a.type === 'deliver'), 'the gateway delivers the client\'s IPv4');
  t.ok(wire.seenB.some((a) => a.type === 'deliver'), 'the client delivers the gateway\'s (Address/Control optional)');
});

t.test('a wrong password: the link is closed, never reaches the network phase, and dies', async (t) => {
  const { gateway, wire, leases } = pair('wrong');
  wire.run(20_000, () => wire.seenA.some((a) => a.type === 'dead'));
  t.ok(wire.seenA.some((a) => a.type === 'auth-failed'), 'authentication failed');
  t.notOk(wire.seenA.some((a) => a.type === 'network-up'), 'no network phase');
  t.equal(leases(), 0, 'no address was taken');
  t.equal(gateway.phase, 'dead');
  t.match(wire.seenA.find((a) => a.type === 'dead'), { reason: /authentication failed/ });
});

t.test('IPCP and IP before authentication are dropped and counted, not answered', async (t) => {
  const { gateway, wire } = pair('secret');
  wire.run(25, () => gateway.phase === 'authenticate' || gateway.phase === 'network');
  const early = gateway.receiveFrame(encodePppFrame({ protocol: PppProtocol.IPv4, information: new Uint8Array(20) }), wire.now);
  t.same(early, [], 'nothing comes of it');
  t.ok(Object.keys(gateway.drops).length > 0, `counted: ${JSON.stringify(gateway.drops)}`);
});

t.test('an unknown protocol in the network phase gets an LCP Protocol-Reject', async (t) => {
  const { gateway, wire } = pair('secret');
  wire.run(10_000, () => gateway.phase === 'network');
  const out = gateway.receiveFrame(encodePppFrame({ protocol: 0x8207, information: Uint8Array.of(1, 1, 0, 4) }), wire.now);
  t.match(out, [{ type: 'send', protocol: PppProtocol.LCP }], 'Protocol-Reject');
  t.equal(out[0]?.type === 'send' ? out[0].packet[0] : -1, 8, 'LCP code 8');
});

t.test('no address left: IPCP gives up and the link closes', async (t) => {
  const { gateway, wire } = pair('secret', { pool: undefined });
  wire.run(60_000, () => gateway.phase === 'dead');
  t.equal(gateway.phase, 'dead');
  t.match(wire.seenA.find((a) => a.type === 'dead'), { reason: /IPCP/ });
});

t.test('administrative close and lower-layer loss both end in one dead action', async (t) => {
  const a = pair('secret');
  a.wire.run(10_000, () => a.gateway.phase === 'network');
  a.wire.takeA(a.gateway.close(a.wire.now, 'admin'));
  a.wire.run(a.wire.now + 10_000, () => a.gateway.phase === 'dead' && a.client.phase === 'dead');
  t.equal(a.wire.seenA.filter((x) => x.type === 'dead').length, 1);
  t.ok(a.wire.seenB.some((x) => x.type === 'dead'), 'the client saw the Terminate-Request and went down');
  const b = pair('secret');
  b.wire.run(10_000, () => b.gateway.phase === 'network');
  const down = b.gateway.lowerDown(b.wire.now, 'TLS closed');
  t.match(down.filter((x) => x.type === 'dead'), [{ reason: 'TLS closed' }]);
  t.same(b.gateway.lowerDown(b.wire.now, 'again'), [], 'only once');
});

t.test('with 20 % of frames lost, links still come up (retransmissions on every layer)', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { wire } = pair('secret', { loss: 0.2, seed });
    t.ok(wire.run(120_000, () => wire.seenA.some((a) => a.type === 'network-up') && wire.seenB.some((a) => a.type === 'network-up')), `seed ${seed}: up at ${wire.now} ms`);
  }
});

t.test('once IPCP is open the authenticator is let go: a late packet of its method is dropped and counted, no Protocol-Reject', async (t) => {
  const { gateway, wire } = pair('secret');
  const late = encodePppFrame({ protocol: PppProtocol.PAP, information: text('alice:secret') });
  wire.run(10_000, () => gateway.phase === 'network');
  t.match(gateway.receiveFrame(late, wire.now), [{ type: 'send', protocol: PppProtocol.PAP }], 'before IPCP opened, a repeated response still gets its verdict again');
  wire.run(wire.now + 10_000, () => wire.seenA.some((a) => a.type === 'network-up'));
  t.same(gateway.receiveFrame(late, wire.now), [], 'after: nothing is sent');
  t.equal(gateway.drops['authentication packet after IPCP opened'], 1, 'counted');
  const chap = gateway.receiveFrame(encodePppFrame({ protocol: PppProtocol.CHAP, information: Uint8Array.of(2, 1, 0, 4) }), wire.now);
  t.match(chap, [{ type: 'send', protocol: PppProtocol.LCP }], 'another method\'s protocol is still rejected');
});
