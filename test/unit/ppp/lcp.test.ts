import t from 'tap';
import { ControlCode, decodeControlPacket, decodeOptions, encodeConfigure, encodeControlPacket, encodeEcho, encodeProtocolReject, optionUint, uintOption, type PppOption } from '../../../firmware/ppp/control-packet.ts';
import { PppProtocol } from '../../../firmware/ppp/frame.ts';
import { FsmState } from '../../../firmware/ppp/fsm.ts';
import type { PppAction } from '../../../firmware/ppp/fsm-protocol.ts';
import { AUTH_OPTION_DATA, LcpOption, type AuthMethod } from '../../../firmware/ppp/lcp.ts';
import { LcpEngine, type LcpEngineOptions } from '../../../firmware/ppp/lcp-engine.ts';
import { seeded, seededBytes, SimLink } from './sim.ts';

const sent = (actions: PppAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.packet] : []));
const codes = (actions: PppAction[]) => sent(actions).map((p) => p[0]);
const optionsOf = (packet: Uint8Array | undefined): PppOption[] => {
  const p = packet && decodeControlPacket(packet);
  const o = p?.ok ? decodeOptions(p.value.data) : undefined;
  return o?.ok ? o.value : [];
};
const auth = (m: AuthMethod): PppOption => ({ type: LcpOption.AuthenticationProtocol, data: Uint8Array.from(AUTH_OPTION_DATA[m]) });

function gateway(options: Partial<LcpEngineOptions> = {}, seed = 1): LcpEngine {
  return new LcpEngine({ random: seededBytes(seed), ...options });
}

/** A gateway that has sent its first Configure-Request; returns it with that request. */
function started(options: Partial<LcpEngineOptions> = {}): { lcp: LcpEngine; request: Uint8Array } {
  const lcp = gateway(options);
  lcp.up(0);
  const request = sent(lcp.open(0))[0]!;
  return { lcp, request };
}

/** Two engines on a simulated wire: a gateway (0) asking MS-CHAPv2 and a client (1) agreeing. */
function pair(seed: number, wire: { loss?: number; minDelayMs?: number; maxDelayMs?: number } = {}, extra: Partial<LcpEngineOptions> = {}) {
  const a = gateway({ echoIntervalMs: 0, ...extra }, seed * 2);
  const b = gateway({ auth: [], acceptAuth: ['mschapv2', 'chap-md5'], echoIntervalMs: 0, ...extra }, seed * 2 + 1);
  const link = new SimLink([a, b], { rng: seeded(seed), ...wire });
  link.take(0, [...a.up(0), ...a.open(0)]);
  link.take(1, [...b.up(0), ...b.open(0)]);
  return { a, b, link };
}

t.test('the gateway asks for MS-CHAPv2 and a random Magic-Number', async (t) => {
  const { request } = started();
  const options = optionsOf(request);
  t.same(options.map((o) => o.type), [LcpOption.AuthenticationProtocol, LcpOption.MagicNumber]);
  t.same([...options[0]!.data], [0xc2, 0x23, 0x81], 'CHAP, algorithm 0x81');
  t.not(optionUint(options[1]!, 4), 0, 'never zero (§6.4)');
});

t.test('two engines reach Opened over a lossy, reordering wire (20 seeds)', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const { a, b, link } = pair(seed, { loss: 0.2, minDelayMs: 5, maxDelayMs: 800 });
    const up = link.run(120_000, () => a.opened && b.opened);
    t.ok(up, `seed ${seed}: both Opened (at ${link.now} ms)`);
    t.equal(a.negotiated.auth, 'mschapv2', `seed ${seed}: the gateway will authenticate with MS-CHAPv2`);
    t.equal(b.negotiated.peerAuth, 'mschapv2', `seed ${seed}: the client agreed to it`);
    t.equal(a.negotiated.peerMagic, b.negotiated.localMagic, `seed ${seed}: magic numbers cross over`);
    t.equal(b.negotiated.peerMagic, a.negotiated.localMagic);
  }
});

t.test('a client that cannot do MS-CHAPv2 Naks; the gateway offers the next acceptable method', async (t) => {
  const gw = gateway({ auth: ['mschapv2', 'chap-md5', 'eap', 'pap'], echoIntervalMs: 0 }, 10);
  const cl = gateway({ auth: [], acceptAuth: ['pap'], echoIntervalMs: 0 }, 11);
  const wire = new SimLink([gw, cl]);
  wire.take(0, [...gw.up(0), ...gw.open(0)]);
  wire.take(1, [...cl.up(0), ...cl.open(0)]);
  t.ok(wire.run(30_000, () => gw.opened && cl.opened), 'both Opened');
  t.equal(gw.negotiated.auth, 'pap', 'settled on what the client suggested, which we accept');
  // With a client suggesting something we do not accept, we walk down our own list.
  const { lcp, request } = started({ auth: ['mschapv2', 'chap-md5'] });
  const nak1 = lcp.receive(encodeConfigure(ControlCode.ConfigureNak, request[1]!, [auth('pap')]), 1);
  t.same([...optionsOf(sent(nak1)[0]).find((o) => o.type === LcpOption.AuthenticationProtocol)!.data], [0xc2, 0x23, 0x05], 'then CHAP-MD5');
  const nak2 = lcp.receive(encodeConfigure(ControlCode.ConfigureNak, sent(nak1)[0]![1]!, [auth('pap')]), 2);
  t.same(codes(nak2), [ControlCode.TerminateRequest], 'nothing left: LCP closes');
  t.equal(lcp.state, FsmState.Closing);
});

t.test('a client that rejects authentication is not let in', async (t) => {
  const { lcp, request } = started();
  const out = lcp.receive(encodeConfigure(ControlCode.ConfigureReject, request[1]!, [auth('mschapv2')]), 1);
  const term = sent(out)[0]!;
  t.equal(term[0], ControlCode.TerminateRequest);
  t.equal(new TextDecoder().decode(term.subarray(4)), 'peer refused to authenticate');
});

t.test('Max-Failure: after five Naks the sixth answer is a Reject (§4.6)', async (t) => {
  const { lcp } = started();
  const tinyMru = [uintOption(LcpOption.MaximumReceiveUnit, 64, 2)];
  const answers = Array.from({ length: 7 }, (_, i) => sent(lcp.receive(encodeConfigure(ControlCode.ConfigureRequest, 10 + i, tinyMru), i + 1))[0]!);
  t.same(answers.map((p) => p[0]), [3, 3, 3, 3, 3, 4, 4], 'Nak ×5, then Reject');
  t.equal(optionUint(optionsOf(answers[0])[0]!, 2), 128, 'the Naks suggest our minimum MRU');
  t.equal(optionUint(optionsOf(answers[5])[0]!, 2), 64, 'the Reject carries the option as received');
  t.equal(lcp.fsm.counters['max-failure'], 2);
  const acked = sent(lcp.receive(encodeConfigure(ControlCode.ConfigureRequest, 30, []), 9))[0]!;
  t.equal(acked[0], ControlCode.ConfigureAck, 'an acceptable request is acknowledged');
  const again = sent(lcp.receive(encodeConfigure(ControlCode.ConfigureRequest, 31, tinyMru), 10))[0]!;
  t.equal(again[0], ControlCode.ConfigureNak, 'the Ack reset the failure count');
});

t.test('peer options: MRU, ACCM, PFC, ACFC acknowledged; unknown and Auth-Protocol rejected', async (t) => {
  const { lcp } = started();
  const good = [uintOption(1, 1400, 2), uintOption(2, 0, 4), uintOption(5, 0x12345678, 4), { type: 7, data: new Uint8Array(0) }, { type: 8, data: new Uint8Array(0) }];
  t.equal(codes(lcp.receive(encodeConfigure(1, 1, good), 1))[0], ControlCode.ConfigureAck);
  t.match(lcp.negotiated, { peerMru: 1400, peerMagic: 0x12345678, peerPfc: true, peerAcfc: true });
  const odd = [uintOption(1, 1400, 2), { type: 13, data: Uint8Array.of(6) }, auth('pap'), { type: 7, data: Uint8Array.of(1) }];
  const rej = sent(lcp.receive(encodeConfigure(1, 2, odd), 2))[0]!;
  t.equal(rej[0], ControlCode.ConfigureReject);
  t.same(optionsOf(rej).map((o) => o.type), [13, 3, 7], 'callback, authentication of us, malformed PFC');
});

t.test('magic numbers: ours coming back is Nak\'d with a new one; zero is Nak\'d (§6.4)', async (t) => {
  const { lcp, request } = started({ auth: [] });
  const ours = optionUint(optionsOf(request)[0]!, 4)!;
  const nak = sent(lcp.receive(encodeConfigure(1, 5, [uintOption(5, ours, 4)]), 1))[0]!;
  t.equal(nak[0], ControlCode.ConfigureNak);
  const suggested = optionUint(optionsOf(nak)[0]!, 4)!;
  t.ok(suggested !== ours && suggested !== 0, 'a different, non-zero number');
  t.equal(lcp.handler.loopbacks, 1);
  const zero = sent(lcp.receive(encodeConfigure(1, 6, [uintOption(5, 0, 4)]), 2))[0]!;
  t.equal(zero[0], ControlCode.ConfigureNak);
  t.not(optionUint(optionsOf(zero)[0]!, 4), 0);
  // A Nak of our own number: we choose another.
  const renew = sent(lcp.receive(encodeConfigure(3, request[1]!, [uintOption(5, 7, 4)]), 3))[0]!;
  const next = optionUint(optionsOf(renew).find((o) => o.type === 5)!, 4);
  t.ok(next !== ours && next !== 0, 'a new Configure-Request with a new Magic-Number');
});

t.test('a looped-back link is detected and closed', async (t) => {
  const lcp = gateway({ auth: [], echoIntervalMs: 0 });
  const loop = new SimLink([lcp, lcp]);
  loop.take(0, [...lcp.up(0), ...lcp.open(0)]);
  loop.run(60_000, () => lcp.state === FsmState.Closing);
  t.equal(lcp.state, FsmState.Closing, 'closing');
  const term = [...loop.seen[0], ...loop.seen[1]].map((s) => s.action).find((a) => a.type === 'send' && a.packet[0] === ControlCode.TerminateRequest);
  t.equal(term?.type === 'send' && new TextDecoder().decode(term.packet.subarray(4)), 'looped back');
  t.ok(lcp.handler.loopbacks >= 3);
});

t.test('echo keepalives: answered ones keep the link, three missed bring it down', async (t) => {
  const { a, b, link } = pair(7, {}, { echoIntervalMs: 5000, echoFailures: 3 });
  t.ok(link.run(10_000, () => a.opened && b.opened));
  link.run(link.now + 60_000);
  t.ok(a.opened && b.opened, 'a minute of echoes later, still Opened');
  const echoes = sent(link.seen[0].map((s) => s.action)).filter((p) => p[0] === ControlCode.EchoRequest);
  t.ok(echoes.length >= 11, `${echoes.length} Echo-Requests sent`);
  const cut = link.now;
  link.wire.loss = 1;
  link.run(cut + 30_000, () => !a.opened);
  t.notOk(a.opened, 'the link is down');
  const down = link.of(0, 'layer-down').at(-1)!;
  t.ok(down.at - cut <= 4 * 5000 && down.at - cut > 2 * 5000, `down ${down.at - cut} ms after the cut`);
  t.match(down.action, { why: 'peer not responding' });
});

t.test('an Echo-Request is answered with our Magic-Number; a reply with our own is not liveness', async (t) => {
  const { a, b, link } = pair(8, {}, { echoIntervalMs: 1000, echoFailures: 2 });
  t.ok(link.run(10_000, () => a.opened && b.opened));
  const reply = sent(a.receive(encodeEcho(ControlCode.EchoRequest, 9, { magicNumber: b.negotiated.localMagic, data: Uint8Array.of(1, 2) }), link.now))[0]!;
  t.equal(reply[0], ControlCode.EchoReply);
  t.same([...reply.subarray(4)], [...uintOption(0, a.negotiated.localMagic, 4).data, 1, 2], 'our magic, then the data echoed');
  a.receive(encodeEcho(ControlCode.EchoReply, 1, { magicNumber: a.negotiated.localMagic, data: new Uint8Array(0) }), link.now);
  t.equal(a.drops['echo-reply-own-magic'], 1);
});

t.test('Protocol-Reject: sent for unknown protocols once Opened (§5.7); received ones stop that protocol', async (t) => {
  const { a, b, link } = pair(9);
  t.same(a.protocolReject(0x8281, Uint8Array.of(1, 2, 3)), [], 'not before Opened');
  t.equal(a.drops['unknown-protocol-before-opened'], 1);
  t.ok(link.run(10_000, () => a.opened && b.opened));
  const out = sent(a.protocolReject(0x8281, new Uint8Array(3000)));
  t.equal(out[0]![0], ControlCode.ProtocolReject);
  t.equal(out[0]!.length, 1500, 'cut to the peer MRU');
  const got = b.receive(encodeProtocolReject(4, { rejectedProtocol: PppProtocol.IPV6CP, rejectedInformation: Uint8Array.of(1, 1, 0, 4) }, 1500), link.now);
  t.ok(got.some((x) => x.type === 'protocol-rejected' && x.protocol === PppProtocol.IPV6CP), 'IPV6CP must stop');
  t.ok(b.opened, 'LCP itself stays up (RXJ+)');
  const lcpItself = b.receive(encodeProtocolReject(5, { rejectedProtocol: PppProtocol.LCP, rejectedInformation: new Uint8Array(0) }, 1500), link.now);
  t.ok(lcpItself.some((x) => x.type === 'layer-down'), 'a Protocol-Reject of LCP is catastrophic (RXJ-)');
});

t.test('Code-Reject for unknown codes; RFC 1570 codes quietly dropped', async (t) => {
  const { lcp } = started();
  const out = sent(lcp.receive(encodeControlPacket({ code: 0x20, identifier: 3, data: Uint8Array.of(9) }), 1))[0]!;
  t.same([...out.subarray(0, 1)], [ControlCode.CodeReject]);
  t.same([...out.subarray(4)], [0x20, 3, 0, 5, 9], 'the rejected packet');
  t.same(codes(lcp.receive(encodeControlPacket({ code: ControlCode.Identification, identifier: 4, data: Uint8Array.of(0, 0, 0, 0, 0x4d, 0x53) }), 2)), []);
  t.equal(lcp.fsm.counters['ignored-Identification'], 1);
});
