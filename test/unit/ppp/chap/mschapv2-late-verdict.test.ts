// The one MS-CHAPv2 authenticator with a verifier that answers later (as RADIUS
// does): the real MS-CHAPv2 peer accepts the Success (its S= check), both sides hold the same SSTP
// HLAK, the verdict waits for the tick that `wake` asks for, a repeated Response is dropped while
// the verdict is awaited and answered with the same verdict after.
import t from 'tap';
import { localMschapv2Verifier, type Mschapv2Verification, type Mschapv2Verifier } from '../../../../firmware/auth/mschapv2-verifier.ts';
import { Mschapv2Authenticator } from '../../../../firmware/ppp/chap/mschapv2-authenticator.ts';
import { credentialFromPassword } from '../../../../firmware/crypto/user-credential.ts';
import { Mschapv2Peer } from '../../../../firmware/ppp/chap/mschapv2-peer.ts';
import { Secret } from '../../../../firmware/util/secret.ts';

let n = 0;
const random = (len: number) => Uint8Array.from({ length: len }, () => (n++ * 37) & 0xff);
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-1') : undefined);

/** A verifier whose answers are released by hand, like a RADIUS server taking its time. */
function heldVerifier(inner: Mschapv2Verifier) {
  const held: Array<() => void> = [];
  const verifier: Mschapv2Verifier = { verify: (a) => new Promise<Mschapv2Verification>((resolve) => held.push(() => void Promise.resolve(inner.verify(a)).then(resolve))) };
  return { verifier, release: async () => { held.shift()?.(); await new Promise((r) => setImmediate(r)); } };
}

async function exchange(password: string) {
  const { verifier, release } = heldVerifier(localMschapv2Verifier(users));
  let wakes = 0;
  const auth = new Mschapv2Authenticator({ serverName: 'postern', verifier, random, wake: () => wakes++ });
  const peer = new Mschapv2Peer({ user: 'alice', password: new Secret(password), random });
  const challenge = auth.start(0).send[0]!;
  const response = peer.receive(challenge).send[0]!;
  const first = auth.receive(response);
  const repeated = auth.receive(response);
  await release();
  const wakesAtVerdict = wakes;
  const nextTimeout = auth.nextTimeout();
  const verdict = auth.tick(1);
  const again = auth.receive(response);
  return { first, repeated, wakesAtVerdict, nextTimeout, verdict, again, peerOutcome: peer.receive(verdict.send[0]!).outcome, drops: auth.drops };
}

t.test('right password: Success after the verifier answers; the peer checks S= and both sides have the same HLAK', async (t) => {
  const r = await exchange('Alice-Pass-1');
  t.same(r.first.send, [], 'nothing until the verifier answers');
  t.same(r.repeated.send, [], 'a repeated Response while verifying is dropped');
  t.same(r.drops, { 'verification under way': 1 });
  t.equal(r.wakesAtVerdict, 1, 'the shell is woken once');
  t.equal(r.nextTimeout, 0, 'the verdict is due at once');
  t.match(r.verdict.outcome, { ok: true, user: 'alice' });
  t.ok(r.peerOutcome?.ok, 'the peer believes the Success (RFC 2759 §8.8)');
  const ours = r.verdict.outcome?.ok ? r.verdict.outcome.keys?.hlak?.reveal() : undefined;
  const theirs = r.peerOutcome?.ok ? r.peerOutcome.keys?.hlak?.reveal() : undefined;
  t.ok(ours && theirs && Buffer.from(ours).equals(Buffer.from(theirs)), 'SSTP HLAK equal on both sides');
  t.same(r.again.send, r.verdict.send, 'a repeated Response after the verdict gets the same Success');
});

t.test('wrong password: Failure E=691, and the peer reports the refusal', async (t) => {
  const r = await exchange('wrong');
  t.match(r.verdict.outcome, { ok: false, user: 'alice', reason: 'wrong password' });
  t.match(r.peerOutcome, { ok: false, reason: /E=691/ });
});

t.test('a verifier that throws fails the attempt instead of hanging it', async (t) => {
  let woke = false;
  const auth = new Mschapv2Authenticator({ serverName: 'postern', verifier: { verify: async () => { throw new Error('socket closed'); } }, random, wake: () => { woke = true; } });
  const peer = new Mschapv2Peer({ user: 'alice', password: new Secret('x'), random });
  auth.receive(peer.receive(auth.start(0).send[0]!).send[0]!);
  await new Promise((r) => setImmediate(r));
  t.ok(woke);
  t.match(auth.tick(5).outcome, { ok: false, reason: /verifier failed: socket closed/ });
});
