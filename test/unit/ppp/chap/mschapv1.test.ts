// MS-CHAPv1 in PPP CHAP (RFC 2433, algorithm 0x80): the RFC's worked examples byte for byte
// (RFC 2433 Appendix B, RFC 3079 §2.5.3), both engines through the real links with MPPE-128 keyed
// from it (local users from the NT hash alone), refusals (wrong password, LAN Manager only), the
// Failure format, retransmissions, a verdict that comes later, and fuzzing.
import fc from 'fast-check';
import t from 'tap';
import { insecureAuthMethod, listenerAuthMethods, pppAuthenticatorFor } from '../../../../firmware/access/ppp-authenticators.ts';
import { localPasswordVerifier, type PasswordVerification, type PasswordVerifier } from '../../../../firmware/auth/password-verifier.ts';
import { mschapv1StartKey, mschapv1StartKeyOf, ntChallengeResponse } from '../../../../firmware/crypto/mschapv1.ts';
import { hashNtPasswordHash, ntPasswordHash } from '../../../../firmware/crypto/mschapv2.ts';
import { credentialFromPassword } from '../../../../firmware/crypto/user-credential.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from '../../../../firmware/ppp/chap/chap-packet.ts';
import { Mschapv1Authenticator } from '../../../../firmware/ppp/chap/mschapv1-authenticator.ts';
import { decodeMschapv1Response, encodeMschapv1Response } from '../../../../firmware/ppp/chap/mschapv1-messages.ts';
import { Mschapv1Peer } from '../../../../firmware/ppp/chap/mschapv1-peer.ts';
import { dialingLink } from '../../../../firmware/ppp/client-call.ts';
import type { ClientLinkAction } from '../../../../firmware/ppp/client-link.ts';
import { encodePppFrame, PppProtocol } from '../../../../firmware/ppp/frame.ts';
import { authMethodOf } from '../../../../firmware/ppp/lcp.ts';
import { PppLink, type LinkAction } from '../../../../firmware/ppp/link.ts';
import { initialSessionKey } from '../../../../firmware/ppp/mppe/mppe-keys.ts';
import { Secret } from '../../../../firmware/util/secret.ts';
import { PppWire } from '../../../helpers/ppp-wire.ts';
import { seededBytes } from '../sim.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const toHex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
const CHALLENGE = hex('10 2D B5 DF 08 5D 30 41');

t.test('RFC 2433 Appendix B: NtPasswordHash and the NT challenge response of "MyPw"', async (t) => {
  t.equal(toHex(ntPasswordHash('MyPw')), 'fc156af7edcd6c0edde3337d427f4eac', 'NtPasswordHash');
  t.equal(toHex(ntChallengeResponse(CHALLENGE, 'MyPw')), '4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61', 'NtChallengeResponse');
  t.equal(toHex(ntChallengeResponse(CHALLENGE, credentialFromPassword('MyPw'))), '4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61', 'the same from the stored NT hash alone');
});

t.test('RFC 3079 §2.5.3: the 128-bit MPPE start key and first session key from "clientPass"', async (t) => {
  const hash = ntPasswordHash('clientPass');
  t.equal(toHex(hash), '44ebba8d5312b8d611474411f56989ae', 'PasswordHash');
  t.equal(toHex(hashNtPasswordHash(hash)), '41c00c584bd2d91c4017a2a12fa59f3f', 'PasswordHashHash');
  // The RFC prints "... AC CA D1 ..." in step 3 but uses "... AC C1 D1 ..." in step 4, whose result it gives; C1 is right.
  const start = mschapv1StartKey(hashNtPasswordHash(hash), CHALLENGE);
  t.equal(toHex(start), 'a8947850cfc0acc1d1789fb62ddcddb0', 'GetStartKey');
  t.equal(toHex(mschapv1StartKeyOf('clientPass', CHALLENGE)), toHex(start));
  t.equal(toHex(initialSessionKey(start, 128)), '59d159bc09f76f1da2a86a28ffec0b1e', 'the initial session key (GetNewKeyFromSHA)');
});

t.test('the Response value: LM zeros, NT-Response, "use NT"; LCP names CHAP algorithm 0x80', async (t) => {
  const nt = ntChallengeResponse(CHALLENGE, 'MyPw');
  const value = encodeMschapv1Response(nt);
  t.equal(toHex(value), `${'00'.repeat(24)}${toHex(nt)}01`);
  t.match(decodeMschapv1Response(value), { ok: true, value: { useNt: true } });
  t.match(decodeMschapv1Response(value.subarray(0, 48)), { ok: false, error: { code: 'INVALID_SYNTAX' } });
  t.equal(authMethodOf(hex('c2 23 80')), 'mschapv1');
  const peer = new Mschapv1Peer('DOMAIN\\alice', new Secret('MyPw'));
  const out = decodeChapPacket(peer.receive(encodeChapPacket({ code: ChapCode.Challenge, identifier: 7, value: CHALLENGE, name: 'gw' })).send[0]!);
  t.match(out, { ok: true, value: { code: ChapCode.Response, identifier: 7, name: 'DOMAIN\\alice' } });
  t.equal(out.ok && 'value' in out.value ? toHex(out.value.value) : '', toHex(value), 'the peer answers the RFC\'s challenge with the RFC\'s response');
  t.same(peer.receive(encodeChapPacket({ code: ChapCode.Challenge, identifier: 7, value: new Uint8Array(16), name: 'gw' })).send, [], 'a 16-octet challenge is not MS-CHAPv1');
});

const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-123') : undefined);
const PACKET = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 1, 0, 10, 10, 2, 0, 10]);
const MPPE = { mode: 'require' as const, strengths: [128 as const], allowStateful: false };

/** The gateway offers what a listener with legacyAuth offers (MS-CHAPv2 first); a client that answers only MS-CHAPv1 Naks it. */
function call(password: string, opts: { user?: string; passwordVerifier?: PasswordVerifier; legacyAuth?: boolean } = {}) {
  const gateway = new PppLink({
    lcp: { random: seededBytes(1), auth: listenerAuthMethods(opts.legacyAuth ?? true) },
    createAuthenticator: (m) => pppAuthenticatorFor(m, { users, random: seededBytes(2), ...(opts.passwordVerifier ? { passwordVerifier: opts.passwordVerifier } : {}) }),
    ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.5' }) },
    mppe: MPPE,
  });
  const client = dialingLink({ user: opts.user ?? 'alice', password: new Secret(password), auth: 'mschapv1', askDns: false, mppe: MPPE });
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  wire.run(60_000, () => (gateway.mppeActive && client.mppeActive && wire.seenB.some((a) => a.type === 'network-up')) || gateway.phase === 'dead' || client.phase === 'dead');
  return { gateway, client, wire };
}

t.test('local user, right password: MS-CHAPv1 negotiated, MPPE-128 keyed from it at both ends, IP crosses both ways', async (t) => {
  const { gateway, client, wire } = call('Alice-Pass-123', { user: 'OFFICE\\alice' });
  t.equal(gateway.phase, 'network');
  t.equal(gateway.lcp.negotiated.auth, 'mschapv1', 'the client\'s Nak moved LCP to CHAP 0x80');
  t.equal(gateway.user, 'alice', 'the DOMAIN\\ prefix is left out of the lookup');
  const challengeFrame = wire.seenB.find((a) => a.type === 'authenticated');
  const atGateway = wire.seenA.find((a) => a.type === 'authenticated');
  const gk = atGateway?.type === 'authenticated' ? atGateway.keys?.mppe : undefined;
  const ck = challengeFrame?.type === 'authenticated' ? challengeFrame.keys?.mppe : undefined;
  t.ok(gk && ck, 'both ends have MPPE keys');
  t.same([toHex(gk?.send.reveal()), toHex(gk?.receive.reveal())], [toHex(ck?.receive.reveal()), toHex(ck?.send.reveal())], 'one start key, the same both ways (RFC 3079 §2.3)');
  t.equal(gk?.send.reveal().length, 16);
  t.ok(gateway.mppeActive && client.mppeActive, 'MPPE on at both ends');
  const out = client.encapsulate(PppProtocol.IPv4, PACKET)!;
  t.equal(out.protocol, PppProtocol.CompressedDatagram, 'sent encrypted');
  t.match(gateway.receiveFrame(encodePppFrame(out, { addressControl: true }), wire.now).find((a) => a.type === 'deliver'), { packet: PACKET }, 'the gateway decrypts it');
  const back = gateway.encapsulate(PppProtocol.IPv4, PACKET)!;
  t.match(client.receiveFrame(encodePppFrame(back, { addressControl: true }), wire.now).find((a) => a.type === 'deliver'), { packet: PACKET }, 'and the client what the gateway sent');
});

t.test('without legacyAuth MS-CHAPv1 is not offered: a client that only speaks it gets no link; flagged insecure', async (t) => {
  const { gateway, wire } = call('Alice-Pass-123', { legacyAuth: false });
  wire.run(wire.now + 60_000, () => gateway.phase === 'dead');
  t.equal(gateway.phase, 'dead');
  t.notOk(wire.seenA.some((a) => a.type === 'authenticated'), 'never authenticated');
  t.ok(wire.seenA.some((a) => a.type === 'log' && /Close: no authentication protocol acceptable to both sides/.test(a.msg)), 'LCP closed: no method both sides take');
  t.match(insecureAuthMethod('mschapv1'), /cracked offline/);
});

t.test('a wrong password: Failure "E=691 R=0", the gateway logs the refusal, no network phase', async (t) => {
  const { gateway, client, wire } = call('Alice-Pass-124');
  wire.run(wire.now + 30_000, () => gateway.phase === 'dead' && client.phase === 'dead');
  t.match(wire.seenA.find((a) => a.type === 'auth-failed'), { method: 'mschapv1', user: 'alice', reason: 'wrong password' });
  t.match(wire.seenB.find((a) => a.type === 'auth-failed'), { reason: /E=691/ });
  t.notOk(wire.seenA.some((a) => a.type === 'network-up'));
  const auth = new Mschapv1Authenticator({ serverName: 'gw', verifier: localPasswordVerifier(users), random: seededBytes(3) });
  const challenge = decodeChapPacket(auth.start(0).send[0]!);
  const c = challenge.ok && 'value' in challenge.value ? challenge.value : undefined;
  t.equal(c?.value.length, 8, 'the Challenge is 8 octets');
  const response = encodeChapPacket({ code: ChapCode.Response, identifier: c!.identifier, value: encodeMschapv1Response(ntChallengeResponse(c!.value, 'nope')), name: 'alice' });
  const failure = decodeChapPacket(auth.receive(response).send[0]!);
  t.match(failure, { ok: true, value: { code: ChapCode.Failure, message: 'E=691 R=0' } });
  t.equal(toHex(auth.receive(response).send[0]), toHex(encodeChapPacket({ code: ChapCode.Failure, identifier: c!.identifier, message: 'E=691 R=0' })), 'a repeated Response gets the same Failure (ours may have been lost)');
  t.match(await localPasswordVerifier(users).verify({ method: 'mschapv1', userName: 'eve', identifier: 1, challenge: CHALLENGE, ntResponse: ntChallengeResponse(CHALLENGE, 'x') }), { ok: false, reason: 'unknown user' });
});

/** A verifier that counts its calls and answers as told, at once or later. */
function scriptedVerifier(answer: PasswordVerification, later = false) {
  const seen: unknown[] = [];
  const pending: Array<() => void> = [];
  const verifier: PasswordVerifier = {
    verify: (a) => {
      seen.push(a);
      return later ? new Promise((resolve) => pending.push(() => resolve(answer))) : answer;
    },
  };
  return { seen, pending, verifier };
}

function challengeOf(auth: Mschapv1Authenticator, now = 0) {
  const d = decodeChapPacket(auth.start(now).send[0]!);
  if (!d.ok || !('value' in d.value)) throw new Error('no Challenge');
  return d.value;
}

t.test('only a LAN Manager response ("use NT" clear): refused without asking the verifier', async (t) => {
  const v = scriptedVerifier({ ok: true, user: 'alice', source: 'local' });
  const auth = new Mschapv1Authenticator({ serverName: 'gw', verifier: v.verifier, random: seededBytes(4) });
  const c = challengeOf(auth);
  const lmOnly = encodeMschapv1Response(ntChallengeResponse(c.value, 'Alice-Pass-123'));
  lmOnly[48] = 0;
  const step = auth.receive(encodeChapPacket({ code: ChapCode.Response, identifier: c.identifier, value: lmOnly, name: 'alice' }));
  t.match(step.outcome, { ok: false, reason: /LAN Manager response only/ });
  t.match(decodeChapPacket(step.send[0]!), { ok: true, value: { code: ChapCode.Failure, message: 'E=691 R=0' } });
  t.equal(v.seen.length, 0, 'the verifier (and RADIUS) never saw it');
});

t.test('RADIUS\'s verdict: its error number in the Failure, an Accept without keys leaves MPPE unkeyed and a required MPPE ends the call', async (t) => {
  const refused = scriptedVerifier({ ok: false, user: 'alice', source: 'radius', reason: 'hq: reject', noServer: false, error: 649 });
  const auth = new Mschapv1Authenticator({ serverName: 'gw', verifier: refused.verifier, random: seededBytes(5) });
  const c = challengeOf(auth);
  const step = auth.receive(encodeChapPacket({ code: ChapCode.Response, identifier: c.identifier, value: encodeMschapv1Response(ntChallengeResponse(c.value, 'x')), name: 'alice' }));
  t.match(decodeChapPacket(step.send[0]!), { ok: true, value: { code: ChapCode.Failure, message: 'E=649 R=0' } }, 'E=649 (no dial-in permission) passed on');
  t.match(step.outcome, { ok: false, reason: 'hq: reject (radius)' });
  t.match(refused.seen[0], { method: 'mschapv1', userName: 'alice', identifier: c.identifier, challenge: c.value }, 'the verifier got our identifier and challenge');

  const keyless = scriptedVerifier({ ok: true, user: 'alice', source: 'radius' });
  const { gateway, wire } = call('Alice-Pass-123', { passwordVerifier: keyless.verifier });
  wire.run(wire.now + 30_000, () => gateway.phase === 'dead');
  t.match(wire.seenA.find((a) => a.type === 'log' && a.level === 'warn'), { msg: /MPPE is required but the authentication gave no keys/, fields: { method: 'mschapv1' } }, 'accepted, but no keys: logged with the method');
  t.match(wire.seenA.find((a) => a.type === 'dead'), { reason: /MPPE required: no keys/ }, 'but with MPPE required the link ends, saying why');
});

t.test('a verdict that comes later is sent at the next tick; the Challenge is resent every 3 s until a Response', async (t) => {
  let woken = 0;
  const v = scriptedVerifier({ ok: true, user: 'alice', source: 'radius' }, true);
  const auth = new Mschapv1Authenticator({ serverName: 'gw', verifier: v.verifier, random: seededBytes(6), wake: () => woken++ });
  const c = challengeOf(auth);
  t.equal(auth.nextTimeout(), 3000);
  t.match(decodeChapPacket(auth.tick(3000).send[0]!), { ok: true, value: { code: ChapCode.Challenge, identifier: c.identifier } }, 'resent after 3 s');
  const response = encodeChapPacket({ code: ChapCode.Response, identifier: c.identifier, value: encodeMschapv1Response(ntChallengeResponse(c.value, 'x')), name: 'alice' });
  t.same(auth.receive(response).send, [], 'nothing until the verdict');
  t.same(auth.receive(response).send, [], 'a repeat while verifying is dropped');
  t.equal(auth.drops['verification under way'], 1);
  t.equal(auth.nextTimeout(), undefined, 'no Challenge resent while verifying');
  v.pending[0]!();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(woken, 1, 'the shell is woken');
  const step = auth.tick(4000);
  t.match(decodeChapPacket(step.send[0]!), { ok: true, value: { code: ChapCode.Success, message: 'Welcome' } });
  t.match(step.outcome, { ok: true, user: 'alice' });
  t.equal(step.outcome?.ok && step.outcome.keys, undefined, 'no keys in that verdict, none in the outcome');

  const silent = new Mschapv1Authenticator({ serverName: 'gw', verifier: v.verifier, random: seededBytes(7) });
  silent.start(0);
  let last;
  for (let at = 3000; at <= 30_000; at += 3000) last = silent.tick(at);
  t.match(last?.outcome, { ok: false, reason: /no response to 10 challenges/ });
});

t.test('decoders and both engines take random and mutated packets without throwing; drops are counted', async (t) => {
  const auth = new Mschapv1Authenticator({ serverName: 'gw', verifier: localPasswordVerifier(users), random: seededBytes(8) });
  const c = challengeOf(auth);
  const valid = encodeChapPacket({ code: ChapCode.Response, identifier: c.identifier, value: encodeMschapv1Response(ntChallengeResponse(c.value, 'x')), name: 'alice' });
  const peer = new Mschapv1Peer('alice', new Secret('x'));
  let runs = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (bytes, at, flip) => {
    runs++;
    decodeMschapv1Response(bytes);
    const mutated = Uint8Array.from(valid);
    mutated[at] = (mutated[at] ?? 0) ^ flip;
    // A fresh authenticator per case: the first valid-looking Response decides it.
    const fresh = new Mschapv1Authenticator({ serverName: 'gw', verifier: localPasswordVerifier(users), random: seededBytes(8) });
    fresh.start(0);
    for (const p of [bytes, mutated]) {
      fresh.receive(p);
      peer.receive(p);
    }
    auth.receive(bytes);
  }), { numRuns: 1500 });
  t.equal(runs, 1500, 'every case ran');
  const dropped = Object.values(auth.drops).reduce((a, b) => a + b, 0);
  t.ok(dropped > 1000, `the long-lived authenticator counted what it dropped (${dropped}: ${Object.keys(auth.drops).slice(0, 4).join('; ')})`);
});
