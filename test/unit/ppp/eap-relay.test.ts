// Issue 21: PPP EAP relayed to RADIUS. The gateway's PPP EAP authenticator over the relay, against a
// RADIUS side that runs EAP-MSCHAPv2 (the local EAP server, wrapped as a server answering
// Access-Challenge/Accept with the MSK's MPPE keys, slowly): the real PPP EAP peer authenticates,
// nothing is resent while RADIUS decides, each answer goes out at the tick after the session's wake,
// and both sides hold the same SSTP HLAK (the MSK's first 32 octets).
import t from 'tap';
import { decodeEap, encodeEap } from '../../../firmware/auth/eap/eap-packet.ts';
import { EapRadiusRelay, type EapRadius } from '../../../firmware/auth/eap/eap-radius-relay.ts';
import { EapMschapv2Server } from '../../../firmware/auth/eap/mschapv2-server.ts';
import { localMschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { PppEapAuthenticator } from '../../../firmware/ppp/eap/ppp-eap-authenticator.ts';
import { PppEapPeer } from '../../../firmware/ppp/eap/ppp-eap-peer.ts';
import { Attr } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import { eapMessageAttributes, reassembleEapMessage } from '../../../firmware/radius/eap-message.ts';
import { Secret } from '../../../firmware/util/secret.ts';

let n = 0;
const random = (len: number) => Uint8Array.from({ length: len }, () => (n++ * 41 + 7) & 0xff);
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Radius-Pass-21') : undefined);

/** A RADIUS server running EAP-MSCHAPv2 itself; its answers wait until released. */
function eapRadiusServer() {
  const server = new EapMschapv2Server(localMschapv2Verifier(users), random, 'radius');
  let started = false;
  const held: Array<() => void> = [];
  const answer = (attributes: readonly RadiusAttribute[]): RadiusResult => {
    const eap = reassembleEapMessage(attributes);
    const packet = eap.ok && eap.value ? decodeEap(eap.value) : undefined;
    if (!packet?.ok) throw new Error('no EAP-Message');
    // The relay asked the identity itself; this server starts its own conversation with it.
    let step;
    if (!started) {
      started = true;
      step = server.receive({ code: 2, identifier: server.start().identifier, type: 1, data: packet.value.data });
    } else {
      step = server.receive(packet.value);
    }
    const base = { server: 'lab', packet: { code: 0, identifier: 0, authenticator: new Uint8Array(16), attributes: step.status === 'pending' ? [] : eapMessageAttributes(encodeEap(step.send)) } };
    if (step.status === 'continue') return { ...base, outcome: 'challenge', microsoft: { malformed: 0 } } as RadiusResult;
    if (step.status === 'success') return { ...base, outcome: 'accept', microsoft: { malformed: 0, recvKey: new Secret(step.msk.subarray(0, 16)), sendKey: new Secret(step.msk.subarray(16, 32)) } } as RadiusResult;
    return { ...base, outcome: 'reject', microsoft: { malformed: 0 } } as RadiusResult;
  };
  const radius: EapRadius = { authenticate: (a) => new Promise((resolve) => held.push(() => resolve(answer(a)))) };
  return { radius, release: async () => { held.shift()?.(); await new Promise((r) => setImmediate(r)); } };
}
type RadiusAttribute = Parameters<EapRadius['authenticate']>[0][number];

t.test('PPP EAP through the relay: the peer authenticates, nothing resent while RADIUS decides, same HLAK', async (t) => {
  const { radius, release } = eapRadiusServer();
  let wakes = 0;
  const auth = new PppEapAuthenticator(new EapRadiusRelay(radius, [{ type: Attr.NasIdentifier, value: Buffer.from('gw') }], random, () => wakes++));
  const peer = new PppEapPeer('alice', new Secret('Radius-Pass-21'), random);
  let toPeer = auth.start(0).send;
  let now = 0;
  let outcome;
  let peerOutcome;
  for (let round = 0; round < 6 && !outcome; round++) {
    const reply = peer.receive(toPeer[0]!);
    peerOutcome ??= reply.outcome;
    if (!reply.send.length) break;
    t.same(auth.receive(reply.send[0]!, now).send, [], `round ${round}: nothing until RADIUS answers`);
    t.equal(auth.nextTimeout(), undefined, 'and no retransmission while it decides');
    await release();
    t.equal(auth.nextTimeout(), 0, 'the answer is due at once');
    now += 10;
    const step = auth.tick(now);
    toPeer = step.send;
    outcome = step.outcome;
  }
  t.ok(wakes >= 3, `the session was woken for each answer (${wakes})`);
  t.match(outcome, { ok: true, user: 'alice' }, 'RADIUS accepted: EAP Success to the peer');
  peerOutcome = peer.receive(toPeer[0]!).outcome ?? peerOutcome;
  t.ok(peerOutcome?.ok, 'the peer took the EAP Success');
  const ours = outcome?.ok ? outcome.keys?.hlak?.reveal() : undefined;
  const theirs = peerOutcome?.ok ? peerOutcome.keys?.hlak?.reveal() : undefined;
  t.ok(ours && theirs && Buffer.from(ours).equals(Buffer.from(theirs)), 'the same HLAK on both sides (SSTP crypto binding)');
});
