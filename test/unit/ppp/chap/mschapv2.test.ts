// MS-CHAPv2 in PPP CHAP (RFC 2759): the §9.2 example through both engines, mutual authentication,
// refusals, retransmissions, the link phases with the real method, and fuzzing.
import fc from 'fast-check';
import t from 'tap';
import { hashNtPasswordHash, ntPasswordHash } from '../../../../firmware/crypto/mschapv2.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from '../../../../firmware/ppp/chap/chap-packet.ts';
import { localMschapv2Verifier } from '../../../../firmware/auth/mschapv2-verifier.ts';
import { Mschapv2Authenticator } from '../../../../firmware/ppp/chap/mschapv2-authenticator.ts';
import { decodeMschapv2Response, encodeMschapv2Response } from '../../../../firmware/ppp/chap/mschapv2-messages.ts';
import { Mschapv2Peer } from '../../../../firmware/ppp/chap/mschapv2-peer.ts';
import { PppClientLink, type ClientLinkAction } from '../../../../firmware/ppp/client-link.ts';
import { PppLink, type LinkAction } from '../../../../firmware/ppp/link.ts';
import { mschapv2ServerHlak } from '../../../../firmware/sstp/crypto-binding.ts';
import { Secret } from '../../../../firmware/util/secret.ts';
import { PppWire } from '../../../helpers/ppp-wire.ts';
import { seeded, seededBytes } from '../sim.ts';
import { credentialFromPassword } from '../../../../firmware/crypto/user-credential.ts';

// RFC 2759 §9.2.
const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const V = {
  user: 'User',
  password: 'clientPass',
  authenticatorChallenge: hex('5B5D7C7D7B3F2F3E3C2C602132262628'),
  peerChallenge: hex('21402324255E262A28295F2B3A337C7E'),
  ntResponse: hex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF'),
  authenticatorResponse: 'S=407A5589115FD0D6209F510FE9C04566932CDA56',
};

/** Randomness that hands out the given byte strings in order (then zeros). */
function scripted(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...chunks];
  return (n) => {
    const next = queue.shift();
    return next && next.length === n ? next : new Uint8Array(n);
  };
}

const users = (name: string) => (name === V.user ? credentialFromPassword(V.password) : undefined);
const verifier = localMschapv2Verifier(users);

t.test('RFC 2759 §9.2 through the authenticator and the peer, byte for byte', async (t) => {
  const auth = new Mschapv2Authenticator({ serverName: 'gw', verifier, random: scripted(Uint8Array.of(7), V.authenticatorChallenge) });
  const peer = new Mschapv2Peer({ user: V.user, password: new Secret(V.password), random: scripted(V.peerChallenge) });
  const [challenge] = auth.start(0).send;
  const c = decodeChapPacket(challenge!);
  t.match(c, { ok: true, value: { code: ChapCode.Challenge, identifier: 7, name: 'gw' } });
  t.same(c.ok && 'value' in c.value ? Buffer.from(c.value.value) : undefined, V.authenticatorChallenge, 'the challenge as given');
  const [response] = peer.receive(challenge!).send;
  const r = decodeChapPacket(response!);
  const value = r.ok && 'value' in r.value ? r.value.value : new Uint8Array(0);
  t.same(Buffer.from(decodeMschapv2Response(value).ok ? (decodeMschapv2Response(value) as { value: { ntResponse: Uint8Array } }).value.ntResponse : []), V.ntResponse, 'the NT-Response of §9.2');
  t.equal(r.ok && 'name' in r.value ? r.value.name : '', 'User');
  const verdict = auth.receive(response!, 10);
  const success = decodeChapPacket(verdict.send[0]!);
  t.match(success, { ok: true, value: { code: ChapCode.Success, identifier: 7, message: `${V.authenticatorResponse} M=Welcome` } }, 'the authenticator response of §9.2');
  t.match(verdict.outcome, { ok: true, user: 'User' });
  const hlak = mschapv2ServerHlak(hashNtPasswordHash(ntPasswordHash(V.password)), V.ntResponse).reveal();
  t.same(verdict.outcome?.ok && verdict.outcome.keys?.hlak?.reveal(), hlak, 'the HLAK for SSTP');
  const done = peer.receive(verdict.send[0]!);
  t.match(done.outcome, { ok: true }, 'the peer accepts the server\'s proof');
  t.same(done.outcome?.ok && done.outcome.keys?.hlak?.reveal(), hlak, 'and holds the same HLAK');
});

t.test('wrong password and unknown user: Failure E=691 R=0 with a new challenge, the same for both', async (t) => {
  for (const [user, password] of [['User', 'wrong'], ['nobody', 'clientPass']] as const) {
    const auth = new Mschapv2Authenticator({ serverName: 'gw', verifier, random: seededBytes(3) });
    const peer = new Mschapv2Peer({ user, password: new Secret(password), random: seededBytes(4) });
    const verdict = auth.receive(peer.receive(auth.start(0).send[0]!).send[0]!, 5);
    t.match(verdict.outcome, { ok: false, user, reason: user === 'nobody' ? 'unknown user' : 'wrong password' });
    const failure = decodeChapPacket(verdict.send[0]!);
    t.match(failure, { ok: true, value: { code: ChapCode.Failure, message: /^E=691 R=0 C=[0-9A-F]{32} V=3 M=/ } });
    t.match(peer.receive(verdict.send[0]!).outcome, { ok: false, reason: /E=691/ }, 'the peer reports the refusal');
  }
});

t.test('a server that does not know the password is refused by the peer (forged Success)', async (t) => {
  const peer = new Mschapv2Peer({ user: 'User', password: new Secret('clientPass'), random: seededBytes(1) });
  const challenge = encodeChapPacket({ code: ChapCode.Challenge, identifier: 9, value: V.authenticatorChallenge, name: 'evil' });
  peer.receive(challenge);
  const forged = encodeChapPacket({ code: ChapCode.Success, identifier: 9, message: 'S=0000000000000000000000000000000000000000 M=hi' });
  t.match(peer.receive(forged).outcome, { ok: false, reason: /did not prove/ });
});

t.test('retransmissions: the challenge is resent, a repeated response gets the same verdict, stale ones are dropped', async (t) => {
  const auth = new Mschapv2Authenticator({ serverName: 'gw', verifier, random: seededBytes(5), maxChallenges: 3 });
  const first = auth.start(0).send[0]!;
  t.same(auth.tick(2999).send, [], 'nothing before 3 s');
  t.same(Buffer.from(auth.tick(3000).send[0]!), Buffer.from(first), 'the same Challenge again at 3 s');
  const peer = new Mschapv2Peer({ user: 'User', password: new Secret('clientPass'), random: seededBytes(6) });
  const response = peer.receive(first).send[0]!;
  t.same(Buffer.from(peer.receive(first).send[0]!), Buffer.from(response), 'the peer repeats its Response to a repeated Challenge');
  const verdict = auth.receive(response, 3100);
  t.equal(auth.nextTimeout(), undefined, 'no more challenges once answered');
  const again = auth.receive(response, 3200);
  t.same(Buffer.from(again.send[0]!), Buffer.from(verdict.send[0]!), 'the lost Success is sent again');
  t.equal(again.outcome, undefined, 'without a second outcome');
  const stale = Buffer.from(response);
  stale[1] = (stale[1]! + 1) & 0xff;
  t.same(auth.receive(stale, 3300).send, []);
  t.equal(auth.drops['stale identifier'], 1, 'a stale identifier is dropped and counted');
  const silent = new Mschapv2Authenticator({ serverName: 'gw', verifier, random: seededBytes(7), maxChallenges: 3 });
  silent.start(0);
  silent.tick(3000);
  silent.tick(6000);
  t.match(silent.tick(9000).outcome, { ok: false, reason: 'no response to 3 challenges' });
});

t.test('the whole link with MS-CHAPv2: LCP negotiates it, both sides authenticate, IPCP comes up', async (t) => {
  const gateway = new PppLink({
    lcp: { random: seededBytes(11), auth: ['mschapv2'] },
    createAuthenticator: (m) => (m === 'mschapv2' ? new Mschapv2Authenticator({ serverName: 'gw', verifier, random: seededBytes(12) }) : undefined),
    ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.9' }) },
  });
  const client = new PppClientLink({ lcp: { random: seededBytes(13), acceptAuth: ['mschapv2'] }, createAuthPeer: (m) => (m === 'mschapv2' ? new Mschapv2Peer({ user: 'WORKGROUP\\User', password: new Secret('clientPass'), random: seededBytes(14) }) : undefined) });
  const rng = seeded(15);
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client, () => rng() < 0.1);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  t.ok(wire.run(60_000, () => wire.seenA.some((a) => a.type === 'network-up') && wire.seenB.some((a) => a.type === 'network-up')), `up at ${wire.now} ms with 10 % loss`);
  t.equal(gateway.user, 'User', 'the domain prefix is not part of the user name');
  t.match(wire.seenB.find((a) => a.type === 'network-up'), { ipv4: { localAddress: '10.10.0.9' } });
});

t.test('decoders and engines take random and mutated packets without throwing', async (t) => {
  const auth = new Mschapv2Authenticator({ serverName: 'gw', verifier, random: seededBytes(21) });
  const valid = auth.start(0).send[0]!;
  const peer = new Mschapv2Peer({ user: 'User', password: new Secret('clientPass'), random: seededBytes(22) });
  const response = peer.receive(valid).send[0]!;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(80), fc.nat(255), (bytes, at, value) => {
    for (const input of [bytes, Uint8Array.from(response).map((b, i) => (i === at ? value : b)), Uint8Array.from(valid).map((b, i) => (i === at ? value : b))]) {
      decodeChapPacket(input);
      decodeMschapv2Response(input);
      auth.receive(input, 1);
      peer.receive(input);
    }
  }), { numRuns: 2000 });
  t.pass('no throw');
  t.same(Buffer.from(encodeMschapv2Response({ peerChallenge: V.peerChallenge, ntResponse: V.ntResponse })).subarray(16, 24), Buffer.alloc(8), 'the reserved octets are zero');
});
