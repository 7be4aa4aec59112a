// The LNS tunnel table (RFC 2661 §5, §7) against LAC engines on a simulated clock: many tunnels and
// sessions, IDs never reused while alive, a retransmitted SCCRQ, the grace after the last session,
// data both ways with sequencing, our session AVPs hidden with the secret (§4.3).
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { decodeAvps } from '../../../firmware/l2tp/avp.ts';
import { MessageType } from '../../../firmware/l2tp/avp-types.ts';
import { L2tpTunnel, type TunnelAction } from '../../../firmware/l2tp/control-connection.ts';
import { decodeControlMessage, encodeControlMessage } from '../../../firmware/l2tp/control-message.ts';
import { DataSequencing, decodeDataMessage, encodeDataMessage } from '../../../firmware/l2tp/data-message.ts';
import { decodeL2tpPacket, encodeL2tpPacket } from '../../../firmware/l2tp/header.ts';
import { L2tpTunnelTable, type TableAction, type TunnelTableOptions } from '../../../firmware/l2tp/tunnel-table.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const random = (n: number) => new Uint8Array(randomBytes(n));
const secret = (s: string) => new Secret<Uint8Array>(Buffer.from(s));

function lab(options: Partial<TunnelTableOptions> = {}) {
  const table = new L2tpTunnelTable({ hostName: 'postern', random, graceMs: 5_000, ...options });
  const lacs = new Map<string, { tunnel: L2tpTunnel; events: TunnelAction[]; data: Uint8Array[] }>();
  const events: TableAction[] = [];
  const toLns: { at: number; peer: string; bytes: Uint8Array }[] = [];
  const toLac: { at: number; peer: string; bytes: Uint8Array }[] = [];
  const sentByLns: Uint8Array[] = [];
  let now = 0;
  let dropToLac = 0;
  const fromTable = (actions: TableAction[]) => {
    for (const a of actions) {
      if (a.kind === 'Send') {
        sentByLns.push(a.datagram);
        if (dropToLac > 0) dropToLac--;
        else toLac.push({ at: now + 5, peer: a.peer, bytes: a.datagram });
      } else events.push(a);
    }
  };
  const fromLac = (peer: string, actions: TunnelAction[]) => {
    for (const a of actions) {
      if (a.kind === 'Send') toLns.push({ at: now + 5, peer, bytes: a.datagram });
      else lacs.get(peer)!.events.push(a);
    }
  };
  const addLac = (peer: string, localTunnelId: number, extra: { secret?: Secret<Uint8Array> } = {}) => {
    const tunnel = new L2tpTunnel({ role: 'lac', hostName: peer, localTunnelId, random, ...extra });
    lacs.set(peer, { tunnel, events: [], data: [] });
    return tunnel;
  };
  const lacDo = (peer: string, e: Parameters<L2tpTunnel['handle']>[0]) => fromLac(peer, lacs.get(peer)!.tunnel.handle(e, now));
  const run = (until: number) => {
    for (let i = 0; i < 20_000; i++) {
      const lacNext = Math.min(...[...lacs.values()].map((l) => l.tunnel.nextTimeout() ?? Infinity));
      const next = Math.min(toLns[0]?.at ?? Infinity, toLac[0]?.at ?? Infinity, table.nextTimeout() ?? Infinity, lacNext);
      if (next > until) break;
      now = Math.max(now, next);
      if (toLns[0] && toLns[0].at <= now) {
        const p = toLns.shift()!;
        fromTable(table.handle({ kind: 'RcvDatagram', peer: p.peer, bytes: p.bytes }, now));
      } else if (toLac[0] && toLac[0].at <= now) {
        const p = toLac.shift()!;
        const d = decodeL2tpPacket(p.bytes);
        if (d.ok && d.value.header.type === 'data') lacs.get(p.peer)!.data.push(d.value.payload);
        else lacDo(p.peer, { kind: 'RcvDatagram', bytes: p.bytes });
      } else {
        if ((table.nextTimeout() ?? Infinity) <= now) fromTable(table.handle({ kind: 'Timeout' }, now));
        for (const [peer, l] of lacs) if ((l.tunnel.nextTimeout() ?? Infinity) <= now) lacDo(peer, { kind: 'Timeout' });
      }
    }
    now = Math.max(now, until);
  };
  return {
    table, events, sentByLns, addLac, lacDo, run, lacs,
    dropNextToLac: (n: number) => void (dropToLac = n),
    inject: (peer: string, bytes: Uint8Array) => fromTable(table.handle({ kind: 'RcvDatagram', peer, bytes }, now)),
    get now() { return now; },
  };
}

t.test('two LACs, three sessions: distinct IDs, data both ways, the tunnel closed after the grace once its last session goes', async (t) => {
  const l = lab();
  for (const peer of ['198.51.100.2:1701', '198.51.100.3:1701']) {
    l.addLac(peer, 7); // the same Assigned Tunnel ID from both: they are told apart by peer
    l.lacDo(peer, { kind: 'CmdOpen' });
  }
  l.run(500);
  const ups = l.events.filter((e) => e.kind === 'TunnelUp');
  t.equal(ups.length, 2, 'two tunnels up');
  const ids = ups.map((e) => e.kind === 'TunnelUp' && e.tunnelId);
  t.not(ids[0], ids[1], 'with different Tunnel IDs');
  t.ok(ids.every((id) => id !== 0), 'never 0');
  l.lacDo('198.51.100.2:1701', { kind: 'CmdOpenSession', localSessionId: 1, callSerialNumber: 1 });
  l.lacDo('198.51.100.2:1701', { kind: 'CmdOpenSession', localSessionId: 2, callSerialNumber: 2 });
  l.lacDo('198.51.100.3:1701', { kind: 'CmdOpenSession', localSessionId: 1, callSerialNumber: 1 });
  l.run(1000);
  const sessions = l.events.filter((e): e is Extract<TableAction, { kind: 'SessionUp' }> => e.kind === 'SessionUp');
  t.equal(sessions.length, 3, 'three sessions up');
  const first = sessions.find((s) => s.peer === '198.51.100.2:1701')!;
  const a = l.lacs.get('198.51.100.2:1701')!;
  const peerTunnel = a.tunnel.peerTunnelId;
  t.equal(peerTunnel, first.tunnelId, 'the LAC learnt our Tunnel ID');

  // Data: LAC → LNS arrives as Data for that session; LNS → LAC through encapsulate.
  const lacSession = [...a.tunnel.sessions].find(([, s]) => s.peerSessionId === first.sessionId)!;
  l.inject('198.51.100.2:1701', encodeDataMessage(peerTunnel, first.sessionId, Uint8Array.of(0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4)));
  const data = l.events.filter((e) => e.kind === 'Data');
  t.same(data.map((e) => e.kind === 'Data' && [e.tunnelId, e.sessionId, [...e.frame]]), [[first.tunnelId, first.sessionId, [0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]]], 'the frame goes up for its session');
  l.inject('198.51.100.3:1701', encodeDataMessage(peerTunnel, first.sessionId, Uint8Array.of(1)));
  t.equal(l.table.counters['tunnel from another peer'], 1, "another peer's data for that tunnel is dropped and counted");
  const out = l.table.encapsulate(first.tunnelId, first.sessionId, Uint8Array.of(0xff, 0x03, 0x00, 0x21));
  const decoded = decodeDataMessage(out!.datagram);
  t.ok(decoded.ok && decoded.value.header.tunnelId === 7 && decoded.value.header.sessionId === lacSession[0] && decoded.value.header.sequence === undefined, 'our frame carries the LAC\'s IDs, no sequencing unasked');
  t.equal(out!.peer, '198.51.100.2:1701');

  // The peer's last session goes: the tunnel lives on through the grace, then StopCCN.
  const tunnelB = sessions.find((s) => s.peer === '198.51.100.3:1701')!;
  l.lacDo('198.51.100.3:1701', { kind: 'CmdCloseSession', localSessionId: 1, resultCode: { result: 3 } });
  l.run(l.now + 4000);
  t.equal(l.table.tunnels().find((x) => x.tunnelId === tunnelB.tunnelId)?.state, 'established', 'still up inside the grace');
  l.run(l.now + 2000);
  t.equal(l.lacs.get('198.51.100.3:1701')!.tunnel.state, 'closed', 'StopCCN after the grace');
  t.ok(l.events.some((e) => e.kind === 'TunnelDown' && e.tunnelId === tunnelB.tunnelId), 'TunnelDown reported');
  l.run(l.now + 40_000);
  t.equal(l.table.size, 1, 'gone from the table once acknowledged; the tunnel with sessions stays');
});

t.test('an SCCRQ sent again (our SCCRP lost) reaches the same tunnel; Tunnel IDs are not reused while alive', async (t) => {
  const same = () => Uint8Array.of(0x12, 0x34); // a random source stuck on one value
  const l = lab({ random: same });
  l.addLac('192.0.2.9:1701', 3);
  l.dropNextToLac(1);
  l.lacDo('192.0.2.9:1701', { kind: 'CmdOpen' });
  l.run(3000);
  t.equal(l.table.size, 1, 'one tunnel for the SCCRQ and its retransmission');
  t.equal(l.table.counters['tunnels opened'], 1);
  t.equal(l.lacs.get('192.0.2.9:1701')!.tunnel.state, 'established');
  l.addLac('192.0.2.10:1701', 3);
  l.lacDo('192.0.2.10:1701', { kind: 'CmdOpen' });
  l.run(3500);
  const ids = l.table.tunnels().map((x) => x.tunnelId);
  t.equal(ids[0], 0x1234);
  t.ok(ids.length === 2 && ids[1] !== 0x1234 && ids[1] !== 0, `the second tunnel gets another ID (${ids.join(', ')})`);
});

t.test('a tunnel that never gets a session is closed after the grace; an unknown tunnel is counted', async (t) => {
  const l = lab();
  l.addLac('192.0.2.20:1701', 5);
  l.lacDo('192.0.2.20:1701', { kind: 'CmdOpen' });
  l.run(6000);
  t.equal(l.lacs.get('192.0.2.20:1701')!.tunnel.state, 'closed');
  l.inject('192.0.2.20:1701', encodeDataMessage(999, 1, Uint8Array.of(1)));
  t.equal(l.table.counters['data for no session'], 1);
  l.inject('192.0.2.20:1701', Uint8Array.of(1, 2, 3));
  t.equal(l.table.counters['malformed'], 1);
});

t.test('a StopCCN for a tunnel we lost (a restart) gets a ZLB to the sender\'s tunnel, so it stops retransmitting; other messages do not', async (t) => {
  const fresh = new L2tpTunnelTable({ hostName: 'postern', random });
  const stop = encodeControlMessage(MessageType.StopCCN, { assignedTunnelId: 4242, resultCode: { result: 1, error: 0 } });
  const out = fresh.handle({ kind: 'RcvDatagram', peer: '192.0.2.30:1701', bytes: encodeL2tpPacket({ type: 'control', tunnelId: 777, sessionId: 0, ns: 9, nr: 3 }, stop) }, 0);
  t.equal(out.length, 1);
  const zlb = out[0]!.kind === 'Send' ? decodeL2tpPacket(out[0]!.datagram) : undefined;
  t.match(out[0], { kind: 'Send', peer: '192.0.2.30:1701' });
  t.same(zlb?.ok && { ...zlb.value.header, payload: zlb.value.payload.length }, { type: 'control', tunnelId: 4242, sessionId: 0, ns: 3, nr: 10, payload: 0 }, 'a ZLB acknowledging Ns 9, to the sender\'s Tunnel ID');
  const hello = encodeControlMessage(MessageType.HELLO, {});
  t.same(fresh.handle({ kind: 'RcvDatagram', peer: '192.0.2.30:1701', bytes: encodeL2tpPacket({ type: 'control', tunnelId: 777, sessionId: 0, ns: 10, nr: 3 }, hello) }, 0), [], 'a HELLO to a lost tunnel is only counted');
  t.equal(fresh.counters['unknown tunnel'], 2);
});

t.test('with a secret and hiding on: our Assigned Session ID goes hidden after a Random Vector, and the LAC reads it', async (t) => {
  const key = secret('tunnel-secret');
  const l = lab({ secret: key, hideAvps: true });
  l.addLac('192.0.2.30:1701', 9, { secret: key });
  l.lacDo('192.0.2.30:1701', { kind: 'CmdOpen' });
  l.run(500);
  l.lacDo('192.0.2.30:1701', { kind: 'CmdOpenSession', localSessionId: 4, callSerialNumber: 77 });
  l.run(1000);
  t.ok(l.events.some((e) => e.kind === 'SessionUp'), 'the session comes up through hidden AVPs');
  const icrp = l.sentByLns.map((d) => decodeL2tpPacket(d)).find((p) => {
    if (!p.ok || p.value.header.type !== 'control' || p.value.payload.length === 0) return false;
    const m = decodeControlMessage(p.value.payload, { secret: key });
    return m.ok && m.value.kind === 'message' && m.value.messageType === MessageType.ICRP;
  });
  t.ok(icrp?.ok);
  const raw = icrp?.ok ? decodeAvps(icrp.value.payload) : undefined;
  const avps = raw?.ok ? raw.value : [];
  t.same(avps.map((a) => [a.attributeType, a.hidden]), [[0, false], [36, false], [14, true]], 'Message Type, Random Vector, then Assigned Session ID hidden');
  t.notOk(decodeControlMessage(icrp!.ok ? icrp!.value.payload : new Uint8Array(), {}).ok, 'unreadable without the secret');
});

t.test('data sequencing (§5.4): on once the peer numbers its frames, late and duplicate frames dropped', async (t) => {
  const s = new DataSequencing();
  t.equal(s.nextNs(), undefined, 'off until asked');
  const h = (ns: number) => ({ type: 'data' as const, tunnelId: 1, sessionId: 1, lengthPresent: true, priority: false, sequence: { ns, nr: 0 } });
  t.ok(s.accept(h(0xfffe)));
  t.equal(s.nextNs(), 0, 'ours numbered from 0 once the peer numbers its frames');
  t.equal(s.nextNs(), 1);
  t.ok(s.accept(h(0xffff)));
  t.ok(s.accept(h(2)), 'across the wrap, with a gap');
  t.notOk(s.accept(h(2)), 'a duplicate');
  t.notOk(s.accept(h(1)), 'a late one');
  t.same(s.counters, { accepted: 3, late: 2 });
  t.ok(new DataSequencing(true).nextNs() === 0, 'Sequencing Required in ICCN turns it on at once');
});

t.test('property: random and mutated datagrams from several peers never make the table throw, and data frames round-trip', async (t) => {
  const { default: fc } = await import('fast-check');
  fc.assert(fc.property(fc.array(fc.record({ peer: fc.constantFrom('a:1701', 'b:1701'), bytes: fc.uint8Array({ maxLength: 60 }), wait: fc.nat(20_000) }), { maxLength: 30 }), (steps) => {
    const table = new L2tpTunnelTable({ hostName: 'postern', random, graceMs: 1000 });
    let now = 0;
    for (const s of steps) {
      table.handle({ kind: 'RcvDatagram', peer: s.peer, bytes: s.bytes }, now);
      now += s.wait;
      table.handle({ kind: 'Timeout' }, now);
    }
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.nat(0xffff), fc.nat(0xffff), fc.uint8Array({ maxLength: 1500 }), fc.option(fc.nat(0xffff)), (tunnelId, sessionId, frame, ns) => {
    const d = decodeDataMessage(encodeDataMessage(tunnelId, sessionId, frame, ns ?? undefined));
    return d.ok && d.value.header.tunnelId === tunnelId && d.value.header.sessionId === sessionId && d.value.header.sequence?.ns === (ns ?? undefined) && Buffer.from(d.value.frame).equals(Buffer.from(frame));
  }), { numRuns: 300 });
  t.pass('no throw, round trip holds');
});

t.test('on a lossy wire (loss, duplication, reordering, seeded): many tunnels and sessions all come up through the table and data flows', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const table = new L2tpTunnelTable({ hostName: 'postern', random, graceMs: 60_000 });
  const lacs = new Map<string, L2tpTunnel>();
  const up = new Map<string, number>();
  const wire: { at: number; to: string; from: string; bytes: Uint8Array }[] = [];
  let now = 0;
  // Each datagram: 15 % lost, 10 % sent twice, a delay of 1-60 ms (so later ones overtake it).
  const put = (to: string, from: string, bytes: Uint8Array) => {
    if (rnd() < 0.15) return;
    const copies = rnd() < 0.1 ? 2 : 1;
    for (let i = 0; i < copies; i++) wire.push({ at: now + 1 + Math.floor(rnd() * 60), to, from, bytes });
    wire.sort((a, b) => a.at - b.at);
  };
  const fromTable = (actions: TableAction[]) => {
    for (const a of actions) if (a.kind === 'Send') put(a.peer, 'lns', a.datagram);
  };
  const fromLac = (peer: string, actions: TunnelAction[]) => {
    for (const a of actions) {
      if (a.kind === 'Send') put('lns', peer, a.datagram);
      if (a.kind === 'SessionUp') up.set(`${peer}/${a.localSessionId}`, a.peerSessionId);
    }
  };
  for (let i = 0; i < 6; i++) {
    const peer = `198.51.100.${10 + i}:1701`;
    const lac = new L2tpTunnel({ role: 'lac', hostName: peer, localTunnelId: 100 + i, random });
    lacs.set(peer, lac);
    fromLac(peer, lac.handle({ kind: 'CmdOpen' }, now));
  }
  const opened = new Set<string>();
  for (let step = 0; step < 50_000 && now < 120_000; step++) {
    for (const [peer, lac] of lacs) {
      if (lac.state !== 'established' || opened.has(peer)) continue;
      opened.add(peer);
      for (const id of [1, 2, 3]) fromLac(peer, lac.handle({ kind: 'CmdOpenSession', localSessionId: id, callSerialNumber: id }, now));
    }
    const next = Math.min(wire[0]?.at ?? Infinity, table.nextTimeout() ?? Infinity, ...[...lacs.values()].map((l) => l.nextTimeout() ?? Infinity));
    if (next === Infinity) break;
    now = Math.max(now, next);
    if (wire[0] && wire[0].at <= now) {
      const p = wire.shift()!;
      if (p.to === 'lns') fromTable(table.handle({ kind: 'RcvDatagram', peer: p.from, bytes: p.bytes }, now));
      else fromLac(p.to, lacs.get(p.to)!.handle({ kind: 'RcvDatagram', bytes: p.bytes }, now));
      continue;
    }
    if ((table.nextTimeout() ?? Infinity) <= now) fromTable(table.handle({ kind: 'Timeout' }, now));
    for (const [peer, lac] of lacs) if ((lac.nextTimeout() ?? Infinity) <= now) fromLac(peer, lac.handle({ kind: 'Timeout' }, now));
    if (up.size === 18 && wire.length === 0) break;
  }
  t.equal(table.size, 6, 'six tunnels, one per LAC, despite duplicated and retransmitted SCCRQs');
  t.ok([...lacs.values()].every((l) => l.state === 'established'), 'every LAC established');
  t.equal(up.size, 18, 'every session up at the LACs');
  const listed = table.tunnels();
  t.equal(new Set(listed.map((x) => x.tunnelId)).size, 6, 'distinct Tunnel IDs');
  t.same(listed.map((x) => x.sessions.length), [3, 3, 3, 3, 3, 3], 'three sessions each, none twice');
  // Data through the table for every session: each LAC's frame arrives at exactly its session.
  let delivered = 0;
  for (const [peer, lac] of lacs) {
    for (const [local, s] of lac.sessions) {
      const actions = table.handle({ kind: 'RcvDatagram', peer, bytes: encodeDataMessage(lac.peerTunnelId, s.peerSessionId, Uint8Array.of(local)) }, now);
      const d = actions.find((a) => a.kind === 'Data');
      if (d?.kind === 'Data' && d.tunnelId === lac.peerTunnelId && d.sessionId === s.peerSessionId && d.frame[0] === local) delivered++;
    }
  }
  t.equal(delivered, 18, 'a data frame from each session reaches that session');
});

t.test('limits: tunnels per address and in all; what is refused is counted', async (t) => {
  const l = lab({ maxTunnelsPerAddress: 2, maxTunnels: 3 });
  for (const port of [1701, 1702, 1703]) {
    l.addLac(`192.0.2.40:${port}`, 1);
    l.lacDo(`192.0.2.40:${port}`, { kind: 'CmdOpen' });
  }
  l.run(200);
  t.equal(l.table.size, 2, 'two tunnels from one address');
  t.ok((l.table.counters['tunnels per address full'] ?? 0) >= 1, 'the third refused and counted');
  for (const peer of ['192.0.2.41:1701', '192.0.2.42:1701']) {
    l.addLac(peer, 1);
    l.lacDo(peer, { kind: 'CmdOpen' });
  }
  l.run(400);
  t.equal(l.table.size, 3, 'three in all');
  t.ok((l.table.counters['tunnel table full'] ?? 0) >= 1, 'the fourth refused and counted');
  l.run(60_000); // no sessions: each closes after the grace and leaves the table
  t.ok(l.table.size <= 3, 'never more than the limit');
  t.ok([...l.lacs.values()].filter((x) => x.tunnel.state === 'established').length <= 3);
});
