// PAP and CHAP-MD5 checked by the listener's password verifier (issue 21): local users, RADIUS
// (User-Password handed to the client engine to hide; CHAP-Password = Identifier | response and
// CHAP-Challenge, RFC 2865 §5.3/§5.40), radius-then-local only when no server answered. And the PPP
// authenticators with a verdict that comes later (RADIUS): nothing sent until it comes, the shell
// woken, the verdict at the next tick, a repeated request answered the same.
import t from 'tap';
import { localPasswordVerifier, passwordVerifierFor, radiusPasswordVerifier, type PasswordVerification } from '../../../firmware/auth/password-verifier.ts';
import { chapMd5Response } from '../../../firmware/crypto/chap-md5.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Attr, ipv4Attr, textAttr } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import { Code, type RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { ChapMd5Authenticator } from '../../../firmware/ppp/chap/chap-md5.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from '../../../firmware/ppp/chap/chap-packet.ts';
import { decodePap, encodePap, PapAuthenticator, PapCode } from '../../../firmware/ppp/pap/pap.ts';
import { Secret } from '../../../firmware/util/secret.ts';

// alice may use CHAP-MD5 (password kept in clear); bob only has his NT hash.
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-1', true) : name === 'bob' ? credentialFromPassword('Bob-Pass-1') : undefined);
const challenge = Buffer.alloc(16, 7);
const pap = (userName: string, password: string) => ({ method: 'pap' as const, userName, password: new Secret(Uint8Array.from(Buffer.from(password))) });
const chap = (userName: string, password: string, identifier = 9) => ({ method: 'chap-md5' as const, userName, identifier, challenge, response: Uint8Array.from(chapMd5Response(identifier, new Secret(password), challenge)) });
const answer = (outcome: 'accept' | 'reject', attributes: RadiusAttribute[] = []): RadiusResult => ({ outcome, server: 'hq', packet: { code: outcome === 'accept' ? Code.AccessAccept : Code.AccessReject, identifier: 0, authenticator: new Uint8Array(16), attributes }, microsoft: { malformed: 0 } });
const radiusSaying = (result: RadiusResult) => {
  const seen: Array<{ attributes: readonly RadiusAttribute[]; password?: string }> = [];
  return { seen, client: { authenticate: async (attributes: readonly RadiusAttribute[], password?: Secret<Uint8Array>) => { seen.push({ attributes, ...(password ? { password: Buffer.from(password.reveal()).toString() } : {}) }); return result; } } };
};

t.test('local: PAP against the NT hash, CHAP-MD5 against the password kept in clear', async (t) => {
  const local = localPasswordVerifier(users);
  t.match(await local.verify(pap('bob', 'Bob-Pass-1')), { ok: true, user: 'bob', source: 'local' });
  t.match(await local.verify(pap('bob', 'nope')), { ok: false, reason: 'wrong password' });
  t.match(await local.verify(pap('eve', 'Bob-Pass-1')), { ok: false, reason: 'unknown user' });
  t.match(await local.verify(chap('alice', 'Alice-Pass-1')), { ok: true, user: 'alice' });
  t.match(await local.verify(chap('alice', 'nope')), { ok: false, reason: 'wrong password' });
  t.match(await local.verify(chap('bob', 'Bob-Pass-1')), { ok: false, reason: /not allowed for this user/ }, 'CHAP-MD5 needs the password in clear');
  t.match(await local.verify({ ...chap('alice', 'Alice-Pass-1'), identifier: 10 }), { ok: false }, 'the Identifier is part of the hash');
});

t.test('radius: PAP as User-Password, CHAP-MD5 as CHAP-Password + CHAP-Challenge; the Accept authorizes the session', async (t) => {
  const nas = [textAttr(Attr.NasIdentifier, 'gw')];
  const accept = radiusSaying(answer('accept', [ipv4Attr(Attr.FramedIpAddress, '10.10.0.9')]));
  const v = radiusPasswordVerifier(accept.client, nas);
  t.match(await v.verify(pap('carol', 'Carol-Pass-1')), { ok: true, user: 'carol', source: 'radius', authorization: { framedIpAddress: '10.10.0.9', server: 'hq' } });
  t.same(accept.seen[0]?.attributes.map((a) => a.type), [Attr.UserName, Attr.NasIdentifier], 'User-Name and the NAS attributes; the password goes to the engine to hide');
  t.equal(accept.seen[0]?.password, 'Carol-Pass-1');
  t.match(await v.verify(chap('carol', 'Carol-Pass-1')), { ok: true });
  const sent = accept.seen[1]!;
  t.equal(sent.password, undefined, 'CHAP sends no User-Password');
  const chapPassword = sent.attributes.find((a) => a.type === Attr.ChapPassword)!.value;
  t.same([...chapPassword], [9, ...chapMd5Response(9, new Secret('Carol-Pass-1'), challenge)], 'CHAP-Password: our Identifier, then the peer\'s 16-byte response');
  t.same(Buffer.from(sent.attributes.find((a) => a.type === Attr.ChapChallenge)!.value), challenge, 'CHAP-Challenge: our challenge');
  t.match(await radiusPasswordVerifier(radiusSaying(answer('reject')).client, nas).verify(chap('carol', 'x')), { ok: false, source: 'radius', reason: 'hq: reject', noServer: false });
  t.match(await radiusPasswordVerifier(radiusSaying({ outcome: 'timeout', tried: ['hq'] }).client, nas).verify(pap('carol', 'x')), { ok: false, noServer: true });
  const never = radiusSaying(answer('accept'));
  t.match(await radiusPasswordVerifier(never.client, nas).verify(pap('carol', 'x'.repeat(129))), { ok: false, reason: /129 bytes/ }, 'a password User-Password cannot carry is refused here');
  t.match(await radiusPasswordVerifier(never.client, nas).verify({ ...chap('carol', 'x'), response: new Uint8Array(15) }), { ok: false, reason: /15 bytes/ });
  t.equal(never.seen.length, 0, 'without asking the server');
});

t.test('radius-then-local: local users only when no server answered, logged; a Reject is final', async (t) => {
  const { sink, records } = memorySink();
  const log = createLogger({ sink });
  const local = localPasswordVerifier(users);
  const silent = radiusPasswordVerifier(radiusSaying({ outcome: 'timeout', tried: ['hq'] }).client, []);
  const rejecting = radiusPasswordVerifier(radiusSaying(answer('reject')).client, []);
  t.match(await passwordVerifierFor('radius-then-local', { local, radius: silent, log }).verify(pap('bob', 'Bob-Pass-1')), { ok: true, source: 'local' });
  t.match(records.map((r) => r.msg), [/radius-then-local/]);
  t.match(await passwordVerifierFor('radius-then-local', { local, radius: rejecting, log }).verify(pap('bob', 'Bob-Pass-1')), { ok: false, source: 'radius' });
  t.equal(passwordVerifierFor('local', { local }), local);
  t.throws(() => passwordVerifierFor('radius', { local }), /needs a RADIUS client/);
});

/** A verifier whose verdicts the test hands out. */
function later() {
  const pending: Array<(v: PasswordVerification) => void> = [];
  return { pending, verifier: { verify: () => new Promise<PasswordVerification>((resolve) => pending.push(resolve)) } };
}

t.test('CHAP-MD5 with a verdict that comes later: nothing until it comes, then Success at the tick, repeated on a repeated Response', async (t) => {
  const { pending, verifier } = later();
  let wakes = 0;
  const auth = new ChapMd5Authenticator({ serverName: 'gw', verifier, random: (n) => new Uint8Array(n).fill(3), wake: () => wakes++ });
  const start = decodeChapPacket(auth.start(0).send[0]!);
  if (!start.ok || start.value.code !== ChapCode.Challenge) return t.fail('no challenge');
  const response = encodeChapPacket({ code: ChapCode.Response, identifier: start.value.identifier, value: chapMd5Response(start.value.identifier, new Secret('pw'), start.value.value), name: 'carol' });
  t.same(auth.receive(response).send, [], 'nothing sent while the server thinks');
  t.same(auth.receive(response).send, [], 'a repeated Response while waiting is dropped');
  t.same(auth.tick(5000).send, [], 'and the Challenge is not resent');
  pending[0]!({ ok: true, user: 'carol', source: 'radius', authorization: { class: [], framedIpAddress: '10.10.0.9' } });
  await new Promise((r) => setImmediate(r));
  t.equal(wakes, 1, 'the shell woken');
  t.equal(auth.nextTimeout(), 0, 'and asked to tick now');
  const step = auth.tick(5001);
  t.match(step.outcome, { ok: true, user: 'carol', authorization: { framedIpAddress: '10.10.0.9' } });
  t.match(decodeChapPacket(step.send[0]!), { ok: true, value: { code: ChapCode.Success } });
  t.same(auth.receive(response).send, step.send, 'the same Success for a repeated Response (ours may be lost)');
  t.equal(pending.length, 1, 'the server asked once');
});

t.test('PAP with a verdict that comes later: a Nak at the tick, the same Nak for the same request', async (t) => {
  const { pending, verifier } = later();
  let wakes = 0;
  const auth = new PapAuthenticator(verifier, { wake: () => wakes++ });
  auth.start(0);
  const request = encodePap({ code: PapCode.AuthenticateRequest, identifier: 4, peerId: 'carol', password: Buffer.from('wrong') });
  t.same(auth.receive(request).send, []);
  t.same(auth.receive(request).send, [], 'repeats wait for the verdict');
  pending[0]!({ ok: false, user: 'carol', source: 'radius', reason: 'hq: reject', noServer: false });
  await new Promise((r) => setImmediate(r));
  t.equal(wakes, 1);
  const step = auth.tick(10);
  t.match(step.outcome, { ok: false, user: 'carol', reason: 'hq: reject (radius)' });
  t.match(decodePap(step.send[0]!), { ok: true, value: { code: PapCode.AuthenticateNak, identifier: 4 } });
  t.same(auth.receive(request).send, step.send);
  t.equal(pending.length, 1);
});
