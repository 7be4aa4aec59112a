import fc from 'fast-check';
import t from 'tap';
import { ControlCode, encodeConfigure, type PppOption } from '../../../firmware/ppp/control-packet.ts';
import { Fsm, FsmState } from '../../../firmware/ppp/fsm.ts';
import type { RequestVerdict } from '../../../firmware/ppp/fsm-protocol.ts';
import { formatIpv6, Ipv6cpHandler, Ipv6cpOption, linkLocalFromInterfaceId, linkLocalFromInterfaceIdBytes, type Ipv6cpConfig } from '../../../firmware/ppp/ipv6cp.ts';
import { parseIp } from '../../../firmware/util/ip.ts';
import { SimLink } from './sim.ts';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const LOCAL = hex('02 00 5e ff fe 00 00 01');
const WANTED = hex('a1 b2 c3 d4 e5 f6 07 18');
const PEER = hex('12 34 56 78 9a bc de f0');
const ZERO = new Uint8Array(8);
const id = (data: Uint8Array): PppOption => ({ type: Ipv6cpOption.InterfaceIdentifier, data });
const shown = (v: RequestVerdict) => (v.kind === 'nak' || v.kind === 'reject' ? `${v.kind} ${v.options.map((o) => `${o.type}:${Buffer.from(o.data).toString('hex')}`).join(' ')}` : v.kind);
const h = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'none');

function handler(wanted: Uint8Array | undefined, extra: Partial<Ipv6cpConfig> = {}) {
  let calls = 0;
  const peerInterfaceId = () => {
    calls++;
    return wanted;
  };
  return { handler: new Ipv6cpHandler({ localInterfaceId: LOCAL, peerInterfaceId, ...extra }), calls: () => calls };
}

t.test('IPV6CP: our request carries our interface identifier (RFC 5072 §4.1)', async (t) => {
  const { handler: x } = handler(WANTED);
  t.equal(x.protocol, 0x8057);
  t.equal(x.kind, 'ncp');
  t.same(x.buildRequestOptions(), [id(LOCAL)]);
  t.throws(() => new Ipv6cpHandler({ localInterfaceId: ZERO, peerInterfaceId: () => undefined }), 'a zero local id is a configuration error');
  t.throws(() => new Ipv6cpHandler({ localInterfaceId: hex('01 02 03'), peerInterfaceId: () => undefined }));
});

t.test('IPV6CP with a wanted id: zero, ours, another and none are Nak\'d with it; it is Ack\'d', async (t) => {
  const { handler: x, calls } = handler(WANTED);
  const nakWanted = `nak 1:${h(WANTED)}`;
  t.equal(shown(x.checkRequest([id(ZERO)])), nakWanted, 'zero id');
  t.equal(shown(x.checkRequest([id(LOCAL)])), nakWanted, 'our id (collision)');
  t.equal(shown(x.checkRequest([id(PEER)])), nakWanted, 'an id other than the wanted one');
  t.equal(shown(x.checkRequest([])), nakWanted, 'no option: unsolicited Nak (RFC 1661 §5.3)');
  t.equal(shown(x.checkRequest([id(hex('01 02 03 04'))])), nakWanted, 'a malformed Length');
  t.equal(shown(x.checkRequest([id(WANTED)])), 'ack');
  t.equal(calls(), 1, 'the caller is asked once');
});

t.test('IPV6CP without a wanted id: any non-zero, non-colliding id is Ack\'d; zero and ours get a made-up one', async (t) => {
  const { handler: x } = handler(undefined);
  t.equal(shown(x.checkRequest([id(PEER)])), 'ack');
  t.equal(shown(x.checkRequest([])), 'ack', 'nothing to ask for unsolicited');
  const zero = x.checkRequest([id(ZERO)]);
  t.equal(zero.kind, 'nak');
  const made = zero.kind === 'nak' ? zero.options[0]!.data : ZERO;
  t.equal(made.length, 8);
  t.not(h(made), h(ZERO), 'non-zero');
  t.not(h(made), h(LOCAL), 'not ours');
  t.equal(made[0]! & 0x02, 0, 'the "u" bit is zero in a made-up id (§4.1)');
  t.equal(shown(x.checkRequest([id(LOCAL)])), `nak 1:${h(made)}`, 'the same suggestion again: the exchange converges');
  t.equal(shown(x.checkRequest([id(made)])), 'ack', 'the suggestion is acceptable');
});

t.test('IPV6CP: a made-up id comes from the injected randomId', async (t) => {
  const { handler: x } = handler(undefined, { randomId: () => hex('ff ff ff ff ff ff ff ff') });
  t.equal(shown(x.checkRequest([id(ZERO)])), 'nak 1:fdffffffffffffff', 'random, with the u bit cleared');
  const { handler: y } = handler(undefined, { randomId: () => LOCAL.slice() });
  const v = y.checkRequest([id(ZERO)]);
  t.ok(v.kind === 'nak' && h(v.options[0]!.data) !== h(LOCAL), 'a random id equal to ours is moved off it');
});

t.test('IPV6CP: a bad wanted id from the caller counts as none', async (t) => {
  t.equal(shown(handler(ZERO).handler.checkRequest([id(PEER)])), 'ack', 'zero');
  t.equal(shown(handler(LOCAL.slice()).handler.checkRequest([id(PEER)])), 'ack', 'equal to ours');
  t.equal(shown(handler(hex('01 02')).handler.checkRequest([id(PEER)])), 'ack', 'malformed');
});

t.test('IPV6CP: IPv6-Compression-Protocol and unknown options are rejected, as received', async (t) => {
  const { handler: x } = handler(WANTED);
  const iphc = { type: Ipv6cpOption.Ipv6CompressionProtocol, data: hex('00 61 00 0f 00 ff 00 ff') };
  const unknown = { type: 77, data: hex('01') };
  t.equal(shown(x.checkRequest([id(ZERO), iphc, unknown])), 'reject 2:0061000f00ff00ff 77:01', 'Reject wins over Nak (RFC 1661 §5.4)');
});

t.test('IPV6CP: a Nak of ours is followed when the suggestion is usable', async (t) => {
  const { handler: x } = handler(WANTED);
  x.onNak([id(hex('0a 0b 0c 0d 0e 0f 10 11'))]);
  t.same(x.buildRequestOptions(), [id(hex('0a 0b 0c 0d 0e 0f 10 11'))]);
  x.onNak([]);
  t.same(x.buildRequestOptions(), [id(hex('0a 0b 0c 0d 0e 0f 10 11'))], 'a Nak without the option changes nothing');
  x.resetRequest();
  t.same(x.buildRequestOptions(), [id(LOCAL)], 'a restart goes back to the configured id');
});

t.test('IPV6CP: a Nak suggesting zero, the peer\'s id or garbage makes us pick another', async (t) => {
  const { handler: x } = handler(WANTED);
  t.equal(shown(x.checkRequest([id(WANTED)])), 'ack');
  x.onNak([id(WANTED)]);
  const a = x.buildRequestOptions()[0]!.data;
  for (const bad of [WANTED, LOCAL, ZERO]) t.not(h(a), h(bad), `not ${h(bad)}`);
  x.onNak([id(ZERO)]);
  const b = x.buildRequestOptions()[0]!.data;
  t.not(h(b), h(ZERO));
  t.not(h(b), h(a), 'a Nak of the current id moves us off it');
  x.onNak([id(hex('01 02 03'))]);
  const c = x.buildRequestOptions()[0]!.data;
  t.equal(c.length, 8);
  t.not(h(c), h(b));
  const { handler: y } = handler(undefined);
  t.equal(shown(y.checkRequest([id(PEER)])), 'ack');
  y.onNak([id(PEER)]);
  t.not(h(y.buildRequestOptions()[0]!.data), h(PEER), 'the id the peer proposed for itself is never taken');
});

t.test('IPV6CP: a rejected Interface-Identifier is no longer sent; we keep our tentative id', async (t) => {
  const { handler: x } = handler(WANTED);
  x.onReject([id(LOCAL)]);
  t.same(x.buildRequestOptions(), []);
  x.onAck([]);
  t.same(x.negotiated.localInterfaceId, LOCAL);
  x.resetRequest();
  t.same(x.buildRequestOptions(), [id(LOCAL)]);
});

t.test('IPV6CP: negotiated values are filled in on Ack and Peer-Ack', async (t) => {
  const { handler: x } = handler(WANTED);
  t.same(x.negotiated, { localInterfaceId: undefined, peerInterfaceId: undefined });
  x.onPeerAcked([id(WANTED)]);
  x.onAck([id(LOCAL)]);
  t.same(x.negotiated, { localInterfaceId: LOCAL, peerInterfaceId: WANTED });
});

t.test('IPV6CP through the automaton: a client asking zero is given the wanted id and the link opens', async (t) => {
  const { handler: x } = handler(WANTED);
  const fsm = new Fsm(x);
  fsm.up(0);
  const ours = fsm.open(0).flatMap((a) => (a.type === 'send' ? [a.packet] : []))[0]!;
  t.equal(ours[0], ControlCode.ConfigureRequest);
  const nak = fsm.receive(encodeConfigure(ControlCode.ConfigureRequest, 1, [id(ZERO)]), 1).flatMap((a) => (a.type === 'send' ? [a.packet] : []))[0]!;
  t.same([...nak], [ControlCode.ConfigureNak, 1, 0, 14, 1, 10, ...WANTED]);
  fsm.receive(encodeConfigure(ControlCode.ConfigureRequest, 2, [id(WANTED)]), 2);
  fsm.receive(encodeConfigure(ControlCode.ConfigureAck, ours[1]!, [id(LOCAL)]), 3);
  t.equal(fsm.state, FsmState.Opened);
  t.same(x.negotiated, { localInterfaceId: LOCAL, peerInterfaceId: WANTED });
});

t.test('IPV6CP: two ends with the same id converge to different ids (Nak loop ends)', async (t) => {
  const a = new Ipv6cpHandler({ localInterfaceId: LOCAL, peerInterfaceId: () => undefined });
  const b = new Ipv6cpHandler({ localInterfaceId: LOCAL, peerInterfaceId: () => undefined, randomId: () => hex('42 42 42 42 42 42 42 42') });
  const fsms: [Fsm, Fsm] = [new Fsm(a), new Fsm(b)];
  const link = new SimLink(fsms);
  for (const side of [0, 1] as const) {
    link.take(side, fsms[side].up(0));
    link.take(side, fsms[side].open(0));
  }
  t.ok(link.run(30_000, () => fsms.every((f) => f.state === FsmState.Opened)), 'both Opened');
  t.same(a.negotiated.localInterfaceId, b.negotiated.peerInterfaceId);
  t.same(b.negotiated.localInterfaceId, a.negotiated.peerInterfaceId);
  t.not(h(a.negotiated.localInterfaceId), h(b.negotiated.localInterfaceId), 'the ids differ');
});

t.test('IPV6CP: against any peer proposal the gateway Acks or Naks with a usable id, never a loop', async (t) => {
  fc.assert(
    fc.property(fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: undefined }), fc.uint8Array({ minLength: 0, maxLength: 10 }), (wanted, proposal) => {
      const { handler: x } = handler(wanted);
      const v = x.checkRequest([id(proposal)]);
      if (v.kind === 'ack') return true;
      if (v.kind !== 'nak') return false;
      const s = v.options[0]!.data;
      // The suggestion is usable and, proposed back, is acknowledged.
      return s.length === 8 && s.some((b) => b !== 0) && h(s) !== h(LOCAL) && x.checkRequest([id(s)]).kind === 'ack';
    }),
    { numRuns: 2000 },
  );
  t.pass('converges in one round');
});

t.test('link-local text from an interface identifier (RFC 4291 §2.5.6, RFC 5952 §4)', async (t) => {
  t.equal(linkLocalFromInterfaceId(hex('02 00 5e ff fe 00 00 01')), 'fe80::200:5eff:fe00:1');
  t.equal(linkLocalFromInterfaceId(hex('00 00 00 00 00 00 00 01')), 'fe80::1');
  t.equal(linkLocalFromInterfaceId(hex('00 00 00 01 00 00 00 00')), 'fe80::1:0:0');
  t.equal(linkLocalFromInterfaceId(hex('12 34 00 00 00 00 ab cd')), 'fe80::1234:0:0:abcd');
  t.same([...linkLocalFromInterfaceIdBytes(PEER)], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...PEER]);
  t.equal(formatIpv6(hex('20 01 0d b8 00 00 00 00 00 01 00 00 00 00 00 01')), '2001:db8::1:0:0:1', 'first of two equal runs');
  t.equal(formatIpv6(new Uint8Array(16)), '::');
  t.throws(() => linkLocalFromInterfaceId(hex('01 02')));
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
      const text = linkLocalFromInterfaceId(b);
      return text.startsWith('fe80:') && !text.includes(':::') && h(parseIp(text)?.bytes) === h(linkLocalFromInterfaceIdBytes(b));
    }),
    { numRuns: 500 },
  );
});
