// Two IKEv1 peers behind the same NAT (issue 19, RFC 3947): one public address, told apart by
// the NAT's source ports. Both negotiate Main Mode and Quick Mode with one responder at the same
// time; each gets its own ISAKMP SA and child, every answer goes to its own port (also after the
// float to 4500), DPD from one touches only its SA, and deleting one leaves the other up.
import t from 'tap';
import type { Endpoint, IkeAction } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';

const ONE = '10.0.0.2'; // the two hosts on the NAT's inside
const TWO = '10.0.0.3';
const NAT = '198.51.100.7';
const R = '192.0.2.2';

interface Packet { packet: Uint8Array; from: Endpoint; to: Endpoint; at: number }

/**
 * A masquerading NAT as Linux's: an inside endpoint keeps its port when it is free, else gets the
 * next free one from 1024. The responder is never behind it.
 */
class SameNat {
  readonly #out = new Map<string, number>();
  readonly #in = new Map<number, Endpoint>();

  outbound(from: Endpoint): Endpoint {
    const key = `${from.address}:${from.port}`;
    let port = this.#out.get(key);
    if (port === undefined) {
      port = this.#in.has(from.port) ? 1024 : from.port;
      while (this.#in.has(port)) port++;
      this.#out.set(key, port);
      this.#in.set(port, from);
    }
    return { address: NAT, port };
  }

  inbound(to: Endpoint): Endpoint | undefined {
    return this.#in.get(to.port);
  }
}

function network() {
  const base = { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'], remoteTs: ['10.9.0.0/24'], remoteId: 'gw.example', remoteAddress: R };
  const engines: Record<string, Ikev1Engine> = {
    [ONE]: new Ikev1Engine([connection('to-gw', { ...base, localId: 'one.example', localTs: ['10.1.0.0/24'], dpdSeconds: 5 })], seededCrypto('one')),
    [TWO]: new Ikev1Engine([connection('to-gw', { ...base, localId: 'two.example', localTs: ['10.2.0.0/24'], dpdSeconds: 0 })], seededCrypto('two')),
    // Two sites keyed to the NAT's address, told apart by the identity each peer proves.
    [R]: new Ikev1Engine([
      connection('site:one', { ike: base.ike, esp: base.esp, localId: 'gw.example', remoteId: 'one.example', remoteAddress: NAT, localTs: ['10.9.0.0/24'], remoteTs: ['10.1.0.0/24'], dpdSeconds: 0 }),
      connection('site:two', { ike: base.ike, esp: base.esp, localId: 'gw.example', remoteId: 'two.example', remoteAddress: NAT, localTs: ['10.9.0.0/24'], remoteTs: ['10.2.0.0/24'], dpdSeconds: 0 }),
    ], seededCrypto('gw')),
  };
  const nat = new SameNat();
  const actions: Record<string, IkeAction[]> = { [ONE]: [], [TWO]: [], [R]: [] };
  const atResponder: Packet[] = []; // what reached the responder, as it saw it
  const fromResponder: Packet[] = [];
  let wire: Packet[] = [];
  const net = { now: 0, engines, actions, atResponder, fromResponder, nat };

  const take = (who: string, out: IkeAction[]) => {
    actions[who]!.push(...out);
    for (const a of out) {
      if (a.type !== 'send') continue;
      const p = { packet: a.packet, from: a.from, to: a.to, at: net.now + 10 };
      if (who === R) fromResponder.push(p);
      wire.push(who === R ? p : { ...p, from: nat.outbound(a.from) });
    }
  };
  const deliver = (p: Packet) => {
    if (p.to.address === R) {
      atResponder.push(p);
      return take(R, engines[R]!.handlePacket(p.packet, p.from, p.to, net.now));
    }
    const inside = p.to.address === NAT ? nat.inbound(p.to) : undefined;
    if (inside) take(inside.address, engines[inside.address]!.handlePacket(p.packet, { address: R, port: p.from.port }, inside, net.now));
  };
  const run = (until: number) => {
    for (let steps = 0; steps < 10_000; steps++) {
      wire.sort((x, y) => x.at - y.at);
      const timers = Object.entries(engines).map(([who, e]) => [who, e.nextTimeout() ?? Infinity] as const);
      const nextTimer = Math.min(...timers.map(([, at]) => at));
      const next = Math.min(wire[0]?.at ?? Infinity, nextTimer);
      if (next > until) { net.now = until; return; }
      net.now = Math.max(net.now, next);
      if ((wire[0]?.at ?? Infinity) <= nextTimer) {
        const [p] = wire.splice(0, 1);
        deliver(p!);
      } else for (const [who, at] of timers) if (at <= net.now) take(who, engines[who]!.tick(net.now));
    }
    throw new Error('the simulation did not settle');
  };
  const of = <T extends IkeAction['type']>(who: string, type: T) => actions[who]!.filter((x): x is Extract<IkeAction, { type: T }> => x.type === type);
  const initiate = (who: string) => take(who, engines[who]!.initiate('to-gw', { address: who, port: 500 }, net.now));
  const clearWire = () => { wire = []; };
  return { net, run, of, take, initiate, clearWire };
}

const cookieOf = (packet: Uint8Array) => Buffer.from(packet.subarray(0, 8)).readBigUInt64BE();

t.test('two peers behind one NAT negotiate at the same time and stay apart', async (t) => {
  const { net, run, of, take, initiate } = network();
  initiate(ONE);
  net.now = 3; // the second starts while the first is in flight: their messages interleave
  initiate(TWO);
  run(5_000);

  // Interleaved: the responder heard both before either had finished Main Mode.
  const ports = net.atResponder.slice(0, 4).map((p) => p.from.port);
  t.same(ports, [500, 1024, 500, 1024], 'Main Mode 1 and 3 of both, alternately, from NAT:500 and NAT:1024');

  const r = net.engines[R]!.sas.filter((s) => s.state === 'established');
  t.equal(r.length, 2, 'the responder holds two ISAKMP SAs');
  const byId = (id: string) => r.find((s) => s.remoteId === id);
  const saOne = byId('one.example');
  const saTwo = byId('two.example');
  t.equal(saOne?.connection?.name, 'site:one', 'one.example on its own site');
  t.equal(saTwo?.connection?.name, 'site:two', 'two.example on its own site, though both came from one address');
  t.same(saOne?.remote, { address: NAT, port: 4500 }, 'the first floated to NAT:4500');
  t.same(saTwo?.remote, { address: NAT, port: 1025 }, 'the second to NAT:1025, its own mapping of 4500');

  const up = of(R, 'ike-up').map((u) => [u.connection, u.remoteId, `${u.remote.address}:${u.remote.port}`]);
  t.same(up.sort(), [['site:one', 'one.example', `${NAT}:4500`], ['site:two', 'two.example', `${NAT}:1025`]], 'two ike-up, each with its port');

  const childOf = (who: string) => of(who, 'install-child')[0]?.child;
  const rChildren = of(R, 'install-child').map((a) => a.child);
  t.equal(rChildren.length, 2, 'the responder installed two children');
  for (const [who, port, ts] of [[ONE, 4500, '10.1.0.0/24'], [TWO, 1025, '10.2.0.0/24']] as const) {
    const theirs = childOf(who);
    const ours = rChildren.find((c) => c.outbound.spi === theirs?.inbound.spi);
    t.ok(theirs && ours, `${who}'s child has its twin at the responder`);
    t.equal(ours?.inbound.spi, theirs?.outbound.spi, 'SPIs crosswise');
    t.same(ours?.remoteTs, [ts], 'the peer\'s own subnet');
    t.same(ours?.encapsulation, { localPort: 4500, remotePort: port }, `ESP in UDP to NAT:${port}`);
    t.same(theirs?.encapsulation, { localPort: 4500, remotePort: 4500 });
    t.equal(of(who, 'ike-up').length, 1, `${who} is up once`);
  }

  // Every answer went to the port its SA's peer used, never to the other's.
  const portsOf = new Map([[saOne!.ckyI, new Set([500, 4500])], [saTwo!.ckyI, new Set([1024, 1025])]]);
  const misdirected = net.fromResponder.filter((p) => !portsOf.get(cookieOf(p.packet))?.has(p.to.port));
  t.same(misdirected.length, 0, `all ${net.fromResponder.length} of the responder's messages went to their own peer's port`);
  for (const who of [ONE, TWO, R]) t.same(net.engines[who]!.drops, {}, `${who} dropped nothing (no cookie or hash mix-up)`);

  // DPD: only the first peer asks (every 5 s); its R-U-THEREs refresh its SA only.
  const heardTwo = saTwo!.lastHeard;
  const heardOne = saOne!.lastHeard;
  const before = net.fromResponder.length;
  run(25_000);
  const acks = net.fromResponder.slice(before);
  t.ok(acks.length >= 3, `the responder answered ${acks.length} R-U-THEREs`);
  t.ok(acks.every((p) => p.to.port === 4500 && cookieOf(p.packet) === saOne!.ckyI), 'each R-U-THERE-ACK on the first peer\'s SA, to NAT:4500');
  t.ok(saOne!.lastHeard > heardOne, 'the first peer\'s SA was heard from');
  t.equal(saTwo!.lastHeard, heardTwo, 'the second\'s was not touched');
  t.equal(net.engines[ONE]!.sas[0]?.dpdPending, undefined, 'the first peer got its acknowledgements');

  // The second peer leaves: its SA and child go, the first stays with its child.
  const twoCky = net.engines[TWO]!.sas[0]!.ckyI;
  take(TWO, net.engines[TWO]!.terminate(twoCky, net.now));
  run(net.now + 1_000);
  t.same(of(R, 'ike-down').map((d) => d.connection), ['site:two'], 'the responder took down only site:two');
  t.same(of(R, 'delete-child').map((d) => d.child.inbound.spi), [childOf(TWO)!.outbound.spi], 'and only its child');
  t.equal(saOne!.state, 'established', 'the first peer\'s ISAKMP SA is up');
  t.equal(saOne!.children.length, 1, 'with its child');
  t.equal(of(ONE, 'ike-down').length + of(ONE, 'delete-child').length, 0, 'the first peer noticed nothing');
});
