// Issue 21: the EAP relay to RADIUS (RFC 3579) on its own: Identity asked here, then each Response
// goes out in an Access-Request (User-Name, EAP-Message, the server's State echoed, the NAS
// attributes) and each Access-Challenge's EAP Request comes back; the Accept's MPPE keys make the
// MSK (32-octet keys as they are, EAP-MSCHAPv2's 16-octet ones padded as its MSK is); a Reject, no
// answer, a malformed EAP-Message or an Accept without keys end in EAP Failure; a retransmitted
// Response while the server decides is not sent again.
import t from 'tap';
import { decodeEap, EapCode, EapType, encodeEap, type EapPacket } from '../../../firmware/auth/eap/eap-packet.ts';
import { EapRadiusRelay } from '../../../firmware/auth/eap/eap-radius-relay.ts';
import type { EapStep } from '../../../firmware/auth/eap/eap-server.ts';
import { Attr, textAttr, textOf } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import { eapMessageAttributes, reassembleEapMessage } from '../../../firmware/radius/eap-message.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { Secret } from '../../../firmware/util/secret.ts';

type Answer = (attributes: readonly RadiusAttribute[]) => RadiusResult;
const result = (outcome: 'accept' | 'reject' | 'challenge', attributes: RadiusAttribute[], keys?: { recv: number; send: number; length: number }): RadiusResult => ({
  outcome, server: 'lab', packet: { code: 0, identifier: 0, authenticator: new Uint8Array(16), attributes },
  microsoft: { malformed: 0, ...(keys ? { recvKey: new Secret(new Uint8Array(keys.length).fill(keys.recv)), sendKey: new Secret(new Uint8Array(keys.length).fill(keys.send)) } : {}) },
} as RadiusResult);
const eapAttrs = (p: EapPacket) => eapMessageAttributes(encodeEap(p));

/** Runs the relay against scripted server answers; returns every Access-Request and the last step. */
async function run(answers: Answer[], responses: (request: EapPacket) => EapPacket) {
  const sent: Array<readonly RadiusAttribute[]> = [];
  let woke: () => void = () => {};
  const relay = new EapRadiusRelay({ authenticate: async (a) => (sent.push(a), answers.shift()!(a)) }, [textAttr(Attr.NasIdentifier, 'gw')], () => Uint8Array.of(9), () => woke());
  let request = relay.start();
  let step: EapStep | undefined;
  const resent: EapStep[] = [];
  for (let i = 0; i < 8; i++) {
    const waiting = new Promise<void>((resolve) => (woke = resolve));
    step = relay.receive(responses(request));
    if (step.status !== 'pending') break;
    resent.push(relay.receive(responses(request)));
    await waiting;
    step = relay.resume();
    if (step?.status !== 'continue') break;
    request = step.send;
  }
  return { sent, step, resent };
}
const identity = (r: EapPacket): EapPacket => ({ code: EapCode.RESPONSE, identifier: r.identifier, type: r.type === EapType.IDENTITY ? EapType.IDENTITY : EapType.MSCHAPV2, data: r.type === EapType.IDENTITY ? Buffer.from('alice') : Uint8Array.of(2, 1) });

t.test('a challenge round then an Accept: State echoed, MSK from the keys, the server\'s EAP Success', async (t) => {
  const challenge: EapPacket = { code: EapCode.REQUEST, identifier: 10, type: EapType.MSCHAPV2, data: Uint8Array.of(1, 10) };
  const state = Uint8Array.of(0xaa, 0xbb);
  const { sent, step, resent } = await run([
    () => result('challenge', [...eapAttrs(challenge), { type: Attr.State, value: state }]),
    () => result('accept', eapAttrs({ code: EapCode.SUCCESS, identifier: 10, data: new Uint8Array() }), { recv: 1, send: 2, length: 32 }),
  ], identity);
  t.equal(sent.length, 2, 'one Access-Request per Response, however often the peer resends');
  t.same(resent, [{ status: 'pending' }, { status: 'pending' }], 'a resent Response while RADIUS decides: nothing more');
  t.equal(textOf(sent[0]!, Attr.UserName), 'alice');
  t.equal(textOf(sent[0]!, Attr.NasIdentifier), 'gw', 'the NAS attributes on every request');
  const first = reassembleEapMessage(sent[0]!);
  t.match(first.ok && first.value && decodeEap(first.value), { ok: true, value: { code: EapCode.RESPONSE, type: EapType.IDENTITY } }, 'the Identity Response relayed');
  t.notOk(sent[0]!.some((a) => a.type === Attr.State), 'no State before the server gave one');
  t.same(Array.from(sent[1]!.find((a) => a.type === Attr.State)!.value), [0xaa, 0xbb], 'the State echoed');
  t.match(step, { status: 'success', identity: 'alice', send: { code: EapCode.SUCCESS, identifier: 10 } });
  t.same(step?.status === 'success' && [...step.msk], [...Buffer.alloc(32, 1), ...Buffer.alloc(32, 2)], 'MSK = MS-MPPE-Recv-Key | MS-MPPE-Send-Key');
});

t.test('EAP-MSCHAPv2\'s 16-octet keys: MSK = recv | send | 32 zero octets', async (t) => {
  const { step } = await run([() => result('accept', [], { recv: 3, send: 4, length: 16 })], identity);
  t.same(step?.status === 'success' && [...step.msk], [...Buffer.alloc(16, 3), ...Buffer.alloc(16, 4), ...Buffer.alloc(32)]);
  t.match(step, { send: { code: EapCode.SUCCESS, identifier: 9 } }, 'our own EAP Success when the server sent none');
});

t.test('every way it fails ends in EAP Failure with the reason', async (t) => {
  const cases: Array<[string, Answer, RegExp]> = [
    ['Access-Reject', () => result('reject', eapAttrs({ code: EapCode.FAILURE, identifier: 9, data: new Uint8Array() })), /lab: reject/],
    ['no server', () => ({ outcome: 'timeout', tried: ['lab'] }) as unknown as RadiusResult, /no RADIUS server answered \(timeout\)/],
    ['Accept without keys', () => result('accept', []), /without MS-MPPE-Recv-Key and MS-MPPE-Send-Key/],
    ['malformed EAP-Message', () => result('challenge', [{ type: Attr.EapMessage, value: Uint8Array.of(1, 2, 0, 9) }]), /malformed EAP-Message/],
    ['a Challenge without a Request', () => result('challenge', []), /Access-Challenge without an EAP Request/],
  ];
  for (const [what, answer, reason] of cases) {
    const { step } = await run([answer], identity);
    t.match(step, { status: 'failure', reason, identity: 'alice', send: { code: EapCode.FAILURE } }, what);
  }
  const relay = new EapRadiusRelay({ authenticate: async () => result('reject', []) }, [], () => Uint8Array.of(9));
  relay.start();
  t.match(relay.receive({ code: EapCode.RESPONSE, identifier: 8, type: EapType.IDENTITY, data: Buffer.from('x') }), { status: 'failure', reason: /unexpected EAP packet/ }, 'a stale identifier');
});
