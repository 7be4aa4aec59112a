// Reliable control delivery (RFC 2661 §5.8): two instances back to back on a simulated clock and a
// simulated link that loses, duplicates and reorders; then the exact retransmission schedule, the
// windows, 16-bit wrap, and a fast-check property over random links.
import fc from 'fast-check';
import t from 'tap';
import { ReliableDelivery, defaultReliableDeliveryOptions, type DeliveryAction } from '../../../firmware/l2tp/reliable-delivery.ts';

interface Link {
  /** Per packet: copies to deliver (0 = lost) and each copy's latency in ms. */
  readonly fate: (from: 'a' | 'b', ns: number, zlb: boolean, nr: number) => number[];
}
interface Packet { at: number; to: 'a' | 'b'; ns: number; nr: number; body: Uint8Array; order: number }

const body = (n: number) => Uint8Array.of(n >> 8, n & 0xff, 0xaa);
const id = (b: Uint8Array) => ((b[0] ?? 0) << 8) | (b[1] ?? 0);

/** Runs both ends until nothing is left to do (bounded); `reply` makes B answer every message (piggybacked acks). */
function simulate(link: Link, count: number, options: { reply?: boolean; sendEvery?: number; aWindow?: number; bWindow?: number; limitMs?: number } = {}) {
  const opts = defaultReliableDeliveryOptions;
  const ends = { a: new ReliableDelivery(opts, options.bWindow ?? 4), b: new ReliableDelivery(opts, options.aWindow ?? 4) };
  const delivered = { a: [] as number[], b: [] as number[] };
  const wire: Packet[] = [];
  const log: { at: number; from: 'a' | 'b'; ns: number; nr: number; zlb: boolean; retransmission: boolean }[] = [];
  let down: string | undefined;
  let order = 0;
  let now = 0;
  const run = (who: 'a' | 'b', actions: DeliveryAction[]) => {
    for (const a of actions) {
      if (a.kind === 'TunnelDown') down = `${who}: ${a.reason}`;
      else if (a.kind === 'Deliver') {
        delivered[who].push(id(a.body));
        if (options.reply && who === 'b') run('b', ends.b.handle({ kind: 'CmdSend', body: a.body }, now));
      } else {
        log.push({ at: now, from: who, ns: a.ns, nr: a.nr, zlb: a.body.length === 0, retransmission: a.retransmission === true });
        for (const latency of link.fate(who, a.ns, a.body.length === 0, a.nr)) wire.push({ at: now + latency, to: who === 'a' ? 'b' : 'a', ns: a.ns, nr: a.nr, body: a.body, order: order++ });
      }
    }
  };
  let sent = 0;
  const every = options.sendEvery ?? 0;
  let nextSend = 0;
  for (let step = 0; step < 1_000_000; step++) {
    wire.sort((x, y) => x.at - y.at || x.order - y.order);
    const candidates = [wire[0]?.at, ends.a.nextTimeout(), ends.b.nextTimeout(), sent < count ? nextSend : undefined].filter((x): x is number => x !== undefined);
    if (candidates.length === 0 || down) break;
    now = Math.max(now, Math.min(...candidates));
    if (options.limitMs !== undefined && now > options.limitMs) break;
    if (sent < count && nextSend <= now) {
      run('a', ends.a.handle({ kind: 'CmdSend', body: body(sent++) }, now));
      nextSend = now + every;
      continue;
    }
    if (wire[0] && wire[0].at <= now) {
      const p = wire.shift()!;
      run(p.to, ends[p.to].handle({ kind: 'RcvControl', ns: p.ns, nr: p.nr, body: p.body }, now));
      continue;
    }
    for (const who of ['a', 'b'] as const) {
      const due = ends[who].nextTimeout();
      if (due !== undefined && due <= now) run(who, ends[who].handle({ kind: 'Timeout' }, now));
    }
  }
  return { ends, delivered, log, down, now };
}

const perfect: Link = { fate: () => [10] };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

t.test('in order over a perfect link: delivered once each, acked by delayed ZLBs', async (t) => {
  const r = simulate(perfect, 20, { sendEvery: 500 });
  t.same(r.delivered.b, range(20));
  t.ok(r.ends.a.idle, 'all acknowledged');
  t.equal(r.ends.a.counters.retransmitted, 0);
  t.equal(r.ends.b.counters.zlbSent, 20, 'one ZLB per message sent alone');
  const zlb = r.log.find((l) => l.from === 'b' && l.zlb)!;
  t.same([zlb.at, zlb.ns, zlb.nr], [110, 0, 1], 'the ZLB leaves after the 100 ms ack delay with the next Ns, unused');
});

t.test('acks ride on replies: no ZLB when the other side answers at once', async (t) => {
  const r = simulate(perfect, 10, { reply: true, sendEvery: 500 });
  t.same(r.delivered.b, range(10));
  t.same(r.delivered.a, range(10));
  t.equal(r.ends.b.counters.zlbSent, 0, 'B acknowledges with its replies');
  t.ok(r.ends.a.idle && r.ends.b.idle);
});

t.test('a lost message is retransmitted after 1 s with the current Nr, and order is kept', async (t) => {
  let lost = false;
  const r = simulate({ fate: (from, ns, zlb) => (from === 'a' && ns === 2 && !zlb && !lost ? ((lost = true), []) : [10]) }, 6);
  t.same(r.delivered.b, range(6));
  t.ok(r.ends.b.counters.held >= 3, 'messages after the gap were held, not dropped');
  const again = r.log.filter((l) => l.retransmission);
  // 3 was held, not acknowledged (L2TP has no selective ack), so it goes again with 2.
  t.same(again.map((l) => [l.at, l.ns, l.nr]), [[1000, 2, 0], [1000, 3, 0]]);
});

t.test('duplicated packets: each message delivered once, every duplicate acknowledged', async (t) => {
  const r = simulate({ fate: () => [10, 30] }, 10, { sendEvery: 200 });
  t.same(r.delivered.b, range(10));
  t.equal(r.ends.b.counters.duplicates, 10);
  t.ok(r.ends.a.idle);
});

t.test('lost acknowledgements: the retransmission is a duplicate, acked at once', async (t) => {
  let dropped = 0;
  const r = simulate({ fate: (from, _ns, zlb) => (from === 'b' && zlb && dropped++ < 1 ? [] : [10]) }, 1);
  t.same(r.delivered.b, [0]);
  t.equal(r.ends.b.counters.duplicates, 1);
  t.ok(r.ends.a.idle);
});

t.test('heavy reordering, loss and duplication: in order, exactly once, both ways', async (t) => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const link: Link = { fate: () => (random() < 0.2 ? [] : random() < 0.2 ? [random() * 300, random() * 300] : [random() * 300]) };
  const r = simulate(link, 200, { reply: true, sendEvery: 20 });
  t.notOk(r.down);
  t.same(r.delivered.b, range(200));
  t.same(r.delivered.a, range(200));
  t.ok(r.ends.a.counters.retransmitted > 0 && r.ends.b.counters.held > 0 && r.ends.b.counters.duplicates > 0, 'loss, reordering and duplication all happened');
});

t.test('retransmission backoff: 1, 2, 4, 8, 8 s, then the tunnel is down', async (t) => {
  const r = simulate({ fate: () => [] }, 1);
  t.same(r.log.map((l) => l.at), [0, 1000, 3000, 7000, 15000, 23000]);
  t.match(r.down, /a: control message Ns 0 not acknowledged after 5 retransmissions/);
  t.equal(r.now, 31000);
  t.same(r.ends.a.handle({ kind: 'CmdSend', body: body(1) }, 32000), [], 'a tunnel that is down sends nothing');
  t.equal(r.ends.a.nextTimeout(), undefined);
});

t.test("the peer's receive window bounds what is unacknowledged", async (t) => {
  const a = new ReliableDelivery(defaultReliableDeliveryOptions, 4);
  const sends = range(10).flatMap((i) => a.handle({ kind: 'CmdSend', body: body(i) }, 0));
  t.same(sends.map((s) => s.kind === 'Send' && s.ns), [0, 1, 2, 3], 'four out, six waiting');
  const more = a.handle({ kind: 'RcvControl', ns: 0, nr: 2, body: new Uint8Array(0) }, 10);
  t.same(more.map((s) => s.kind === 'Send' && s.ns), [4, 5], 'an ack of two lets two more go');
  a.setPeerWindow(16);
  t.same(a.handle({ kind: 'RcvControl', ns: 0, nr: 2, body: new Uint8Array(0) }, 20).length, 4, 'a larger window lets the rest go');
  t.notOk(a.idle);
  const bogus = a.handle({ kind: 'RcvControl', ns: 0, nr: 500, body: new Uint8Array(0) }, 30);
  t.same(bogus, []);
  t.equal(a.counters.bogusNr, 1, 'an Nr past what was sent is ignored and counted');
});

t.test('our receive window: ahead within it held, beyond it dropped', async (t) => {
  const b = new ReliableDelivery({ ...defaultReliableDeliveryOptions, receiveWindow: 4 });
  t.same(b.handle({ kind: 'RcvControl', ns: 3, nr: 0, body: body(3) }, 0), []);
  t.same(b.handle({ kind: 'RcvControl', ns: 4, nr: 0, body: body(4) }, 0), []);
  t.equal(b.counters.held, 1);
  t.equal(b.counters.outOfWindow, 1);
  const got = [0, 1, 2].flatMap((n) => b.handle({ kind: 'RcvControl', ns: n, nr: 0, body: body(n) }, 0));
  t.same(got.filter((x) => x.kind === 'Deliver').map((x) => x.kind === 'Deliver' && id(x.body)), [0, 1, 2, 3]);
});

t.test('Ns and Nr wrap at 16 bits', async (t) => {
  const a = new ReliableDelivery();
  const b = new ReliableDelivery();
  let delivered = 0;
  let lastNs = -1;
  for (let i = 0; i < 65_536 + 10; i++) {
    const [send] = a.handle({ kind: 'CmdSend', body: body(i & 0xffff) }, i);
    if (send?.kind !== 'Send') return t.fail('no send');
    lastNs = send.ns;
    const out = b.handle({ kind: 'RcvControl', ns: send.ns, nr: send.nr, body: send.body }, i);
    delivered += out.filter((x) => x.kind === 'Deliver').length;
    const [zlb] = b.handle({ kind: 'Timeout' }, i + 1000);
    if (zlb?.kind !== 'Send') return t.fail('no ack');
    a.handle({ kind: 'RcvControl', ns: zlb.ns, nr: zlb.nr, body: zlb.body }, i);
  }
  t.equal(delivered, 65_546);
  t.equal(lastNs, 9, 'Ns wrapped past 65535 to 0');
  t.ok(a.idle);
});

t.test('property: any link that eventually delivers gives every message once, in order', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.nat(2), fc.nat(400)), { minLength: 1, maxLength: 50 }), fc.boolean(), (count, pattern, reply) => {
    let i = 0;
    const tries = new Map<string, number>();
    // Copies and latency come from the pattern, but every second try of the same message (a ZLB: of the
    // same Nr) gets through, so that no message is lost past the retransmission budget.
    const link: Link = { fate: (from, ns, zlb, nr) => {
      const key = `${from}:${zlb}:${zlb ? nr : ns}`;
      const n = (tries.get(key) ?? 0) + 1;
      tries.set(key, n);
      const [copies, latency] = pattern[i++ % pattern.length]!;
      return n % 2 === 0 ? [latency] : range(copies).map((c) => latency + c * 37);
    } };
    const r = simulate(link, count, { reply, sendEvery: 50 });
    return !r.down && r.delivered.b.join() === range(count).join() && (!reply || r.delivered.a.join() === range(count).join());
  }), { numRuns: 150 });
  t.pass('150 random links');
});
