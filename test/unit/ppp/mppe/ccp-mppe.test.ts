// CCP with an MPPE policy (RFC 3078 §2): offers, Naks down to one strength, per-direction results,
// 'require' failing cleanly, and pppd's own request (as captured) answered the way pppd expects.
import t from 'tap';
import { ControlCode, decodeControlPacket, decodeOptions, encodeConfigure, type PppOption } from '../../../../firmware/ppp/control-packet.ts';
import { CcpHandler } from '../../../../firmware/ppp/ccp.ts';
import { Fsm, FsmState } from '../../../../firmware/ppp/fsm.ts';
import type { PppAction } from '../../../../firmware/ppp/fsm-protocol.ts';
import { MppeBit, mppeOption, mppeOptionBits, type MppePolicy } from '../../../../firmware/ppp/mppe/mppe-option.ts';
import { SimLink } from '../sim.ts';

const sent = (actions: PppAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.packet] : []));
const optionsOf = (packet: Uint8Array): PppOption[] => {
  const c = decodeControlPacket(packet);
  if (!c.ok) throw new Error('bad packet');
  const o = decodeOptions(c.value.data);
  if (!o.ok) throw new Error('bad options');
  return o.value;
};
const bitsOf = (packet: Uint8Array) => mppeOptionBits(optionsOf(packet)[0]!);

const STRONG: MppePolicy = { mode: 'require', strengths: [128], allowStateful: false };
const ANY: MppePolicy = { mode: 'allow', strengths: [40, 56, 128], allowStateful: true };

function ccp(policy: MppePolicy | undefined, keys = true): { fsm: Fsm; handler: CcpHandler } {
  const handler = new CcpHandler(policy);
  handler.setMppeKeysAvailable(keys);
  return { fsm: new Fsm(handler), handler };
}

t.test('our request offers every allowed strength, stateless', async (t) => {
  const { fsm } = ccp(ANY);
  fsm.up(0);
  t.equal(bitsOf(sent(fsm.open(0))[0]!), MppeBit.stateless | MppeBit.s128 | MppeBit.s56 | MppeBit.s40);
  const none = ccp(ANY, false);
  none.fsm.up(0);
  t.same(optionsOf(sent(none.fsm.open(0))[0]!), [], 'no MPPE keys from authentication: nothing offered');
});

t.test("pppd's request (MPPE stateless 128/56/40 with Deflate and BSD) gets the others rejected, then a Nak to 128-bit", async (t) => {
  const { fsm } = ccp(STRONG);
  fsm.up(0);
  fsm.open(0);
  const pppd = encodeConfigure(ControlCode.ConfigureRequest, 1, [mppeOption(0x010000e0), { type: 26, data: Uint8Array.from([0x78, 0x00]) }, { type: 21, data: Uint8Array.from([0x2f]) }]);
  const rej = sent(fsm.receive(pppd, 1))[0]!;
  t.equal(rej[0], ControlCode.ConfigureReject);
  t.same(optionsOf(rej).map((o) => o.type), [26, 21]);
  const again = encodeConfigure(ControlCode.ConfigureRequest, 2, [mppeOption(0x010000e0)]);
  const nak = sent(fsm.receive(again, 2))[0]!;
  t.equal(nak[0], ControlCode.ConfigureNak);
  t.equal(bitsOf(nak), MppeBit.stateless | MppeBit.s128, 'exactly one strength, stateless');
  const exact = encodeConfigure(ControlCode.ConfigureRequest, 3, [mppeOption(0x01000040)]);
  t.equal(sent(fsm.receive(exact, 3))[0]![0], ControlCode.ConfigureAck);
});

t.test('two CCPs agree on the strongest common strength in both directions', async (t) => {
  const a = ccp(ANY);
  const b = ccp({ mode: 'require', strengths: [40, 128], allowStateful: false });
  const sim = new SimLink([a.fsm, b.fsm]);
  sim.take(0, a.fsm.up(0));
  sim.take(1, b.fsm.up(0));
  sim.take(0, a.fsm.open(0));
  sim.take(1, b.fsm.open(0));
  t.ok(sim.run(10_000, () => a.fsm.state === FsmState.Opened && b.fsm.state === FsmState.Opened), 'both Opened');
  for (const side of [a, b]) {
    t.same(side.handler.negotiated.send, { strength: 128, stateless: true });
    t.same(side.handler.negotiated.receive, { strength: 128, stateless: true });
  }
});

t.test("'require' with no common strength ends CCP with a reason; 'allow' opens without MPPE", async (t) => {
  const strict = ccp(STRONG);
  const weak = ccp({ mode: 'allow', strengths: [40], allowStateful: false });
  const sim = new SimLink([strict.fsm, weak.fsm]);
  for (const [side, c] of [[0, strict], [1, weak]] as const) {
    sim.take(side, c.fsm.up(0));
    sim.take(side, c.fsm.open(0));
  }
  sim.run(60_000, () => strict.fsm.state === FsmState.Closed || strict.fsm.state === FsmState.Stopped);
  t.ok(([FsmState.Closed, FsmState.Stopped, FsmState.Closing, FsmState.Stopping] as FsmState[]).includes(strict.fsm.state), `strict side gave up (${strict.fsm.state})`);
  t.equal(strict.handler.negotiated.send, undefined);

  const one = ccp(ANY);
  const plain = ccp(undefined);
  const sim2 = new SimLink([one.fsm, plain.fsm]);
  for (const [side, c] of [[0, one], [1, plain]] as const) {
    sim2.take(side, c.fsm.up(0));
    sim2.take(side, c.fsm.open(0));
  }
  t.ok(sim2.run(10_000, () => one.fsm.state === FsmState.Opened && plain.fsm.state === FsmState.Opened), 'both Opened');
  t.same(one.handler.negotiated, {}, 'no MPPE either way');
});

t.test('a peer that will not do stateless is asked again unless stateful is allowed', async (t) => {
  const { fsm, handler } = ccp({ mode: 'require', strengths: [128], allowStateful: true });
  fsm.up(0);
  fsm.open(0);
  const stateful = encodeConfigure(ControlCode.ConfigureRequest, 1, [mppeOption(MppeBit.s128)]);
  t.equal(sent(fsm.receive(stateful, 1))[0]![0], ControlCode.ConfigureAck, 'stateful allowed: Ack');
  t.same(handler.negotiated.send, { strength: 128, stateless: false });
  const strict = ccp(STRONG);
  strict.fsm.up(0);
  strict.fsm.open(0);
  const nak = sent(strict.fsm.receive(stateful, 1))[0]!;
  t.equal(nak[0], ControlCode.ConfigureNak);
  t.equal(bitsOf(nak), MppeBit.stateless | MppeBit.s128, 'stateless asked for');
});
