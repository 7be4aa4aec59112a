// The MS-CHAPv2 verifiers behind a PPP authenticator: local users, RADIUS (answers read through
// the Microsoft attributes), and radius-then-local, which falls back only when no server answered
// (logged), never after a Reject.
import t from 'tap';
import { checkAuthenticatorResponse, generateNtResponse } from '../../../firmware/crypto/mschapv2.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { localMschapv2Verifier, mschapv2VerifierFor, radiusMschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import type { MicrosoftReply } from '../../../firmware/radius/microsoft.ts';
import { Code } from '../../../firmware/radius/packet.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-1') : undefined);
const authenticatorChallenge = Buffer.alloc(16, 1);
const peerChallenge = Buffer.alloc(16, 2);
const attempt = (password: string, userName = 'alice') => ({ userName, authenticatorChallenge, peerChallenge, ident: 1, ntResponse: generateNtResponse(authenticatorChallenge, peerChallenge, userName, password) });
const packet = (code: number) => ({ code, identifier: 0, authenticator: new Uint8Array(16), attributes: [] });
const answer = (outcome: 'accept' | 'reject', microsoft: Partial<MicrosoftReply>): RadiusResult => ({ outcome, server: 'hq', packet: packet(outcome === 'accept' ? Code.AccessAccept : Code.AccessReject), microsoft: { malformed: 0, ...microsoft } });
const radiusSaying = (result: RadiusResult) => {
  const seen: number[] = [];
  return { seen, client: { authenticate: async (attributes: readonly { type: number }[]) => { seen.push(attributes.length); return result; } } };
};

t.test('local: the right password gives the authenticator response and the server-side MPPE keys; wrong and unknown fail alike', async (t) => {
  const local = localMschapv2Verifier(users);
  const ok = await local.verify(attempt('Alice-Pass-1'));
  if (!ok.ok) return t.fail(ok.reason);
  t.ok(checkAuthenticatorResponse('Alice-Pass-1', attempt('Alice-Pass-1').ntResponse, peerChallenge, authenticatorChallenge, 'alice', ok.authenticatorResponse));
  t.equal(ok.sendKey.reveal().length, 16);
  t.notSame(ok.sendKey.reveal(), ok.recvKey.reveal());
  t.match(await local.verify(attempt('nope')), { ok: false, reason: 'wrong password', error: 691 });
  t.match(await local.verify(attempt('x', 'bob')), { ok: false, reason: 'unknown user', error: 691 });
  t.match(await local.verify(attempt('Alice-Pass-1', 'CORP\\alice')), { ok: true, user: 'alice' }, 'the domain prefix is not part of the name (RFC 2759 §8.2)');
});

t.test('radius: an Accept needs MS-CHAP2-Success and both MPPE keys; a Reject carries MS-CHAP-Error', async (t) => {
  const key = (b: number) => new Secret(new Uint8Array(16).fill(b));
  const good = radiusSaying(answer('accept', { success: { ident: 1, text: `S=${'AB'.repeat(20)} M=hi` }, sendKey: key(1), recvKey: key(2) }));
  const v = await radiusMschapv2Verifier(good.client, []).verify(attempt('whatever'));
  t.match(v, { ok: true, source: 'radius', authenticatorResponse: `S=${'AB'.repeat(20)}` });
  t.same(good.seen, [3], 'User-Name, MS-CHAP-Challenge, MS-CHAP2-Response');
  t.match(await radiusMschapv2Verifier(radiusSaying(answer('accept', { sendKey: key(1), recvKey: key(2) })).client, []).verify(attempt('x')), { ok: false, reason: /without MS-CHAP2-Success/ });
  t.match(await radiusMschapv2Verifier(radiusSaying(answer('accept', { success: { ident: 1, text: `S=${'AB'.repeat(20)}` } })).client, []).verify(attempt('x')), { ok: false, reason: /MS-MPPE/ });
  t.match(await radiusMschapv2Verifier(radiusSaying(answer('reject', { error: { ident: 1, text: 'E=649 R=0 V=3 M=No dial-in permission' } })).client, []).verify(attempt('x')), { ok: false, error: 649, noServer: false, reason: /No dial-in permission/ });
});

t.test('radius-then-local: local users only when no server answered, and logged; a Reject is final', async (t) => {
  const { sink, records } = memorySink();
  const log = createLogger({ sink });
  const local = localMschapv2Verifier(users);
  const silent = radiusMschapv2Verifier(radiusSaying({ outcome: 'timeout', tried: ['hq'] }).client, []);
  const rejecting = radiusMschapv2Verifier(radiusSaying(answer('reject', {})).client, []);
  t.match(await mschapv2VerifierFor('radius-then-local', { local, radius: silent, log }).verify(attempt('Alice-Pass-1')), { ok: true, source: 'local' });
  t.match(records.map((r) => r.msg), [/radius-then-local/]);
  t.match(await mschapv2VerifierFor('radius-then-local', { local, radius: rejecting, log }).verify(attempt('Alice-Pass-1')), { ok: false, source: 'radius' });
  t.match(await mschapv2VerifierFor('radius', { local, radius: silent }).verify(attempt('Alice-Pass-1')), { ok: false, noServer: true });
  t.equal(mschapv2VerifierFor('local', { local }), local);
  t.throws(() => mschapv2VerifierFor('radius', { local }), /needs a RADIUS client/);
});
