// The L2TP control connection (RFC 2661 §5.1, §7): an LAC and an LNS instance of the same engine back
// to back on a simulated clock: tunnel up with mutual authentication, sessions up and down, StopCCN,
// a wrong secret, an unknown mandatory AVP, an outgoing call refused, and HELLO keeping the tunnel.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { L2tpTunnel, type TunnelAction, type TunnelConfig, type TunnelEvent } from '../../../firmware/l2tp/control-connection.ts';
import { encodeAvp } from '../../../firmware/l2tp/avp.ts';
import { MessageType } from '../../../firmware/l2tp/avp-types.ts';
import { decodeControlMessage, encodeControlMessage } from '../../../firmware/l2tp/control-message.ts';
import { decodeL2tpPacket, encodeL2tpPacket } from '../../../firmware/l2tp/header.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const secret = (s: string) => new Secret<Uint8Array>(Buffer.from(s));
const base = { random: (n: number) => new Uint8Array(randomBytes(n)) };

function pair(lac: Partial<TunnelConfig> = {}, lns: Partial<TunnelConfig> = {}) {
  const ends = {
    lac: new L2tpTunnel({ ...base, role: 'lac', hostName: 'lac', localTunnelId: 11, ...lac }),
    lns: new L2tpTunnel({ ...base, role: 'lns', hostName: 'lns', localTunnelId: 22, ...lns }, (() => { let n = 100; return () => n++; })()),
  };
  const events = { lac: [] as TunnelAction[], lns: [] as TunnelAction[] };
  const wire: { at: number; to: 'lac' | 'lns'; bytes: Uint8Array }[] = [];
  const sent: { from: 'lac' | 'lns'; type: number | 'ZLB'; sessionId: number; tunnelId: number }[] = [];
  let now = 0;
  const apply = (who: 'lac' | 'lns', actions: TunnelAction[]) => {
    for (const a of actions) {
      if (a.kind !== 'Send') { events[who].push(a); continue; }
      const p = decodeL2tpPacket(a.datagram);
      if (p.ok && p.value.header.type === 'control') {
        const m = p.value.payload.length ? decodeControlMessage(p.value.payload, { secret: secret('x') }) : undefined;
        sent.push({ from: who, type: m === undefined ? 'ZLB' : m.ok && m.value.kind === 'message' ? m.value.messageType : -1, sessionId: p.value.header.sessionId, tunnelId: p.value.header.tunnelId });
      }
      wire.push({ at: now + 5, to: who === 'lac' ? 'lns' : 'lac', bytes: a.datagram });
    }
  };
  const act = (who: 'lac' | 'lns', e: TunnelEvent) => apply(who, ends[who].handle(e, now));
  /** Runs until `untilMs` (bounded steps). */
  const run = (untilMs: number) => {
    for (let step = 0; step < 10_000; step++) {
      const next = Math.min(wire[0]?.at ?? Infinity, ends.lac.nextTimeout() ?? Infinity, ends.lns.nextTimeout() ?? Infinity);
      if (next > untilMs) break;
      now = Math.max(now, next);
      if (wire[0] && wire[0].at <= now) {
        const p = wire.shift()!;
        act(p.to, { kind: 'RcvDatagram', bytes: p.bytes });
      } else for (const who of ['lac', 'lns'] as const) if ((ends[who].nextTimeout() ?? Infinity) <= now) act(who, { kind: 'Timeout' });
    }
    now = Math.max(now, untilMs);
  };
  return { ends, events, sent, act, run, inject: (to: 'lac' | 'lns', bytes: Uint8Array) => wire.push({ at: now, to, bytes }), get now() { return now; } };
}
const kinds = (a: TunnelAction[]) => a.map((x) => x.kind);

t.test('tunnel and session up with mutual authentication, then CDN and StopCCN', async (t) => {
  const s = pair({ secret: secret('shared') }, { secret: secret('shared') });
  s.act('lac', { kind: 'CmdOpen' });
  s.run(1000);
  t.equal(s.ends.lac.state, 'established');
  t.equal(s.ends.lns.state, 'established');
  t.same(s.sent.filter((m) => m.type !== 'ZLB').map((m) => m.type), [MessageType.SCCRQ, MessageType.SCCRP, MessageType.SCCCN]);
  t.same(s.sent.map((m) => m.tunnelId).slice(0, 3), [0, 11, 22], 'SCCRQ to tunnel 0, then each to the ID the other assigned');
  t.same(s.events.lac.map((e) => e.kind === 'TunnelUp' && e.peerTunnelId), [22]);
  t.ok(kinds(s.events.lns).includes('TunnelUp'));

  s.act('lac', { kind: 'CmdOpenSession', localSessionId: 7, callSerialNumber: 1 });
  s.run(2000);
  t.same(s.events.lac.filter((e) => e.kind === 'SessionUp'), [{ kind: 'SessionUp', localSessionId: 7, peerSessionId: 100 }]);
  t.same(s.events.lns.filter((e) => e.kind === 'SessionUp'), [{ kind: 'SessionUp', localSessionId: 100, peerSessionId: 7 }]);
  const icrp = s.sent.find((m) => m.type === MessageType.ICRP)!;
  t.equal(icrp.sessionId, 7, "ICRP's header carries the LAC's session ID");

  s.act('lns', { kind: 'CmdCloseSession', localSessionId: 100, resultCode: { result: 3 } });
  s.run(3000);
  t.same(s.events.lac.filter((e) => e.kind === 'SessionDown').map((e) => e.kind === 'SessionDown' && e.localSessionId), [7]);
  t.equal(s.ends.lac.sessions.size + s.ends.lns.sessions.size, 0);

  s.act('lac', { kind: 'CmdClose', resultCode: { result: 1 } });
  t.equal(s.ends.lac.state, 'closing');
  s.run(4000);
  t.equal(s.ends.lac.state, 'closed', 'closed once the StopCCN is acknowledged');
  t.equal(s.ends.lns.state, 'closed');
  t.match(s.events.lns.find((e) => e.kind === 'TunnelDown'), { reason: /StopCCN, result 1/ });
  t.ok(s.ends.lac.delivery.idle && s.ends.lns.delivery.idle);
});

t.test('a wrong secret: the LAC refuses the SCCRP with StopCCN result 4', async (t) => {
  const s = pair({ secret: secret('one') }, { secret: secret('two') });
  s.act('lac', { kind: 'CmdOpen' });
  s.run(2000);
  t.equal(s.ends.lac.state, 'closed');
  t.equal(s.ends.lns.state, 'closed');
  t.ok(s.sent.some((m) => m.from === 'lac' && m.type === MessageType.StopCCN));
  t.notOk(kinds(s.events.lac).includes('TunnelUp'));
});

t.test('an LNS with a secret refuses an LAC that answers no challenge', async (t) => {
  const s = pair({}, { secret: secret('s') });
  s.act('lac', { kind: 'CmdOpen' });
  s.run(2000);
  t.equal(s.ends.lns.state, 'closed');
  t.notOk(kinds(s.events.lns).includes('TunnelUp'));
  t.ok(s.sent.some((m) => m.from === 'lns' && m.type === MessageType.StopCCN));
});

t.test('a session message with an unknown mandatory AVP ends the tunnel (result 2, error 8)', async (t) => {
  const s = pair();
  s.act('lac', { kind: 'CmdOpen' });
  s.run(1000);
  const lacNs = s.sent.filter((m) => m.from === 'lac' && m.type !== 'ZLB').length;
  const lnsNs = s.sent.filter((m) => m.from === 'lns' && m.type !== 'ZLB').length;
  const body = Buffer.concat([encodeControlMessage(MessageType.HELLO, {}), encodeAvp({ mandatory: true, hidden: false, vendorId: 0, attributeType: 250, value: Uint8Array.of(0) })]);
  s.inject('lns', encodeL2tpPacket({ type: 'control', tunnelId: 22, sessionId: 0, ns: lacNs, nr: lnsNs }, body));
  s.run(2000);
  t.equal(s.ends.lns.state, 'closed');
  t.equal(s.ends.lac.state, 'closed');
  t.match(s.events.lac.find((e) => e.kind === 'TunnelDown'), { reason: /result 2: .*M bit/ });
});

t.test('OCRQ is refused with a CDN; HELLO flows on a quiet tunnel; a silent peer brings it down', async (t) => {
  const s = pair({ helloIntervalMs: 60_000 }, { helloIntervalMs: 60_000 });
  s.act('lac', { kind: 'CmdOpen' });
  s.run(1000);
  const lacNs = s.sent.filter((m) => m.from === 'lac' && m.type !== 'ZLB').length;
  const lnsNs = s.sent.filter((m) => m.from === 'lns' && m.type !== 'ZLB').length;
  const ocrq = encodeControlMessage(MessageType.OCRQ, { assignedSessionId: 5, callSerialNumber: 1, minimumBps: 1, maximumBps: 2, bearerType: 1, framingType: 1, calledNumber: '123' });
  s.inject('lns', encodeL2tpPacket({ type: 'control', tunnelId: 22, sessionId: 0, ns: lacNs, nr: lnsNs }, ocrq));
  s.run(1500);
  const cdn = s.sent.find((m) => m.type === MessageType.CDN);
  t.same(cdn && [cdn.from, cdn.sessionId], ['lns', 5], 'CDN to the session the OCRQ named');
  t.equal(s.ends.lns.state, 'established', 'the tunnel stays');
  s.run(200_000);
  t.ok(s.sent.filter((m) => m.type === MessageType.HELLO).length >= 2, 'HELLOs on a quiet tunnel');
  t.equal(s.ends.lns.state, 'established');
});

t.test('a peer that goes silent: retransmissions run out and the tunnel is down', async (t) => {
  const lac = new L2tpTunnel({ ...base, role: 'lac', hostName: 'lac', localTunnelId: 1 });
  const out = lac.handle({ kind: 'CmdOpen' }, 0);
  t.same(kinds(out), ['Send']);
  const down: TunnelAction[] = [];
  for (let i = 0; i < 20 && lac.nextTimeout() !== undefined; i++) down.push(...lac.handle({ kind: 'Timeout' }, lac.nextTimeout()!));
  t.equal(down.filter((a) => a.kind === 'Send').length, 5, 'five retransmissions');
  t.match(down.at(-1), { kind: 'TunnelDown', reason: /not acknowledged after 5 retransmissions/ });
  t.equal(lac.state, 'closed');
});

t.test('state moves go through one choke point and are logged; the LNS learns the LAC host name', async (t) => {
  const s = pair();
  s.act('lac', { kind: 'CmdOpen' });
  s.run(1000);
  t.same(s.ends.lac.transitions, ['idle -> wait-ctl-reply (SCCRQ sent)', 'wait-ctl-reply -> established (SCCRP accepted)']);
  t.same(s.ends.lns.transitions, ['idle -> wait-ctl-conn (SCCRP sent)', 'wait-ctl-conn -> established (SCCCN accepted)']);
  t.match(s.events.lns.find((e) => e.kind === 'TunnelUp'), { peerTunnelId: 11, peerHostName: 'lac' });
});

t.test('tie breaker (§4.4.3): lower wins, equal both lose, none loses to one', async (t) => {
  const { tieBreak } = await import('../../../firmware/l2tp/control-connection.ts');
  t.equal(tieBreak(5n, 9n), 'ours-wins');
  t.equal(tieBreak(9n, 5n), 'theirs-wins');
  t.equal(tieBreak(7n, 7n), 'both-lose');
  t.equal(tieBreak(undefined, 7n), 'theirs-wins');
  t.equal(tieBreak(7n, undefined), 'no-tie');
});

t.test("an unknown mandatory AVP in a session's message clears only that session (CDN, error 8)", async (t) => {
  const s = pair();
  s.act('lac', { kind: 'CmdOpen' });
  s.run(1000);
  s.act('lac', { kind: 'CmdOpenSession', localSessionId: 7, callSerialNumber: 1 });
  s.run(2000);
  const lacNs = s.sent.filter((m) => m.from === 'lac' && m.type !== 'ZLB').length;
  const lnsNs = s.sent.filter((m) => m.from === 'lns' && m.type !== 'ZLB').length;
  const body = Buffer.concat([encodeControlMessage(MessageType.SLI, { accm: { sendAccm: 0, receiveAccm: 0 } }), encodeAvp({ mandatory: true, hidden: false, vendorId: 0, attributeType: 250, value: Uint8Array.of(0) })]);
  s.inject('lns', encodeL2tpPacket({ type: 'control', tunnelId: 22, sessionId: 100, ns: lacNs, nr: lnsNs }, body));
  s.run(3000);
  t.equal(s.ends.lns.state, 'established', 'the tunnel stays');
  t.equal(s.ends.lns.sessions.size, 0);
  t.match(s.events.lac.find((e) => e.kind === 'SessionDown'), { localSessionId: 7, reason: /CDN, result 2/ });
  t.ok(s.sent.some((m) => m.from === 'lns' && m.type === MessageType.CDN && m.sessionId === 7));
});
