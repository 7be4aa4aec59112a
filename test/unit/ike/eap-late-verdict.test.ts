// Issue 21: EAP-MSCHAPv2 in IKE_AUTH with a verifier that answers later (RADIUS). The gateway leaves
// the IKE_AUTH request carrying the MS-CHAPv2 Response unanswered, asks the verifier once (the
// client's retransmissions are held again, not verified again), and answers when the shell resumes
// it after the verdict: the SA comes up without waiting for a retransmission; a refusal ends in EAP
// Failure with the server's reason in the log.
import t from 'tap';
import { localMschapv2Verifier, type Mschapv2Verification, type Mschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { VirtualAddressProvider } from '../../../firmware/ike/engine/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const users = (name: string) => (name === 'alice' ? credentialFromPassword('Correct-Horse-7') : undefined);
const pool: VirtualAddressProvider = { lease: () => ({ ipv4: '10.10.0.1', dns: [] }), release: () => {} };

/** A verifier answering only when released, like a RADIUS server taking its time. */
function heldVerifier(answer: (v: Mschapv2Verification) => Mschapv2Verification = (v) => v) {
  const inner = localMschapv2Verifier(users);
  const held: Array<() => void> = [];
  let calls = 0;
  const verifier: Mschapv2Verifier = {
    verify: (a) => {
      calls++;
      return new Promise((resolve) => held.push(() => resolve(answer(inner.verify(a) as Mschapv2Verification))));
    },
  };
  return { verifier, calls: () => calls, release: async () => { held.shift()?.(); await new Promise((r) => setImmediate(r)); } };
}

function latePair(verifier: Mschapv2Verifier, onEapVerdict: () => void, peers: string[] = []) {
  const a = new IkeEngine([connection('vpn', { remoteAddress: '192.0.2.2', remoteId: 'vpn.example.com', requestVirtualIp: true, remoteTs: ['0.0.0.0/0'], eap: { identity: 'alice', password: new Secret('Correct-Horse-7') } })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { localId: 'vpn.example.com', peerAuth: 'eap-mschapv2', pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [] })], seededCrypto('b'), { users, addresses: pool, mschapv2: (peer) => (peers.push(peer), verifier), onEapVerdict });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: '192.0.2.1', port: 500 }, 0));
  return { pair, b };
}

t.test('the verdict comes later: the request is held, retransmissions are not verified again, resumeEap answers at once', async (t) => {
  const late = heldVerifier();
  let woken = 0;
  const peers: string[] = [];
  const { pair, b } = latePair(late.verifier, () => woken++, peers);
  pair.run(5000); // past the client's first retransmissions (2 s, then 4 s later)
  t.same(peers, ['192.0.2.1'], 'the verifier is the one for this peer\'s address (RADIUS: Calling-Station-Id)');
  t.equal(late.calls(), 1, 'one verification, however often the client resends');
  t.equal(pair.of('b', 'ike-up').length, 0, 'nothing up while RADIUS decides');
  t.ok(pair.logs('a').some((l) => /retransmit 1 of IKE_AUTH request 3/.test(l)), 'the client did resend the held request');
  t.notOk(pair.logs('b').some((l) => /IKE_AUTH response 3/.test(l)), 'and got no answer to it yet');
  await late.release();
  t.equal(woken, 1, 'the shell is told once the verdict is in');
  const resumedAt = pair.now;
  const resends = () => pair.logs('a').filter((l) => /^retransmit/.test(l)).length;
  const resentBefore = resends();
  pair.take('b', b.resumeEap(pair.now));
  pair.run(resumedAt + 1000); // before the next retransmission: the answer came from resumeEap
  t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'alice', 'the SA is up under the EAP identity');
  t.equal(pair.of('a', 'ike-up')[0]?.virtualIp?.ipv4, '10.10.0.1', 'the client has its address');
  t.equal(resends(), resentBefore, 'answered by resumeEap, not at a later retransmission');
});

t.test('a refusal that comes later: EAP Failure, the reason in the log, nothing left', async (t) => {
  const late = heldVerifier((v) => ({ ok: false, user: v.user, source: 'radius', reason: 'lab: reject', error: 691, noServer: false }));
  const { pair, b } = latePair(late.verifier, () => {});
  pair.run(500);
  await late.release();
  pair.take('b', b.resumeEap(pair.now));
  pair.run(60_000);
  t.equal(pair.of('a', 'ike-up').length + pair.of('b', 'ike-up').length, 0, 'not up');
  t.ok(pair.logs('b').some((l) => l.includes("MS-CHAPv2 authentication of 'alice' failed (RADIUS: lab: reject)")), 'the gateway says who refused and why');
  t.match(pair.of('a', 'ike-down')[0]?.reason, /EAP failed/);
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0, 'no SA left');
});

t.test('resumeEap with nothing decided does nothing', async (t) => {
  const late = heldVerifier();
  const { pair, b } = latePair(late.verifier, () => {});
  pair.run(500);
  t.same(b.resumeEap(pair.now), [], 'no verdict yet: no action');
  t.equal(pair.of('b', 'ike-up').length, 0);
});
