// The other PPP authentication methods through the real link: EAP (EAP-MSCHAPv2 in PPP, RFC 3748),
// CHAP-MD5 (RFC 1994) and PAP (RFC 1334); right and wrong passwords, keys, retransmissions, fuzzing.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { insecureAuthMethod, pppAuthenticatorFor } from '../../../firmware/access/ppp-authenticators.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from '../../../firmware/ppp/chap/chap-packet.ts';
import { ChapMd5Peer } from '../../../firmware/ppp/chap/chap-md5.ts';
import { PppClientLink, type ClientLinkAction, type PppAuthPeer } from '../../../firmware/ppp/client-link.ts';
import { PppEapPeer } from '../../../firmware/ppp/eap/ppp-eap-peer.ts';
import type { AuthMethod } from '../../../firmware/ppp/lcp.ts';
import { PppLink, type LinkAction } from '../../../firmware/ppp/link.ts';
import { decodePap, encodePap, PapCode, PapPeer } from '../../../firmware/ppp/pap/pap.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { PppWire } from '../../helpers/ppp-wire.ts';
import { seeded, seededBytes } from './sim.ts';

// Alice is allowed CHAP-MD5, so her password is kept in clear besides its NT hash.
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-123', true) : undefined);

function peerFor(method: AuthMethod, password: string, seed: number): PppAuthPeer {
  const secret = new Secret(password);
  if (method === 'eap') return new PppEapPeer('alice', secret, seededBytes(seed));
  if (method === 'chap-md5') return new ChapMd5Peer('alice', secret);
  return new PapPeer('alice', secret);
}

function run(method: AuthMethod, password: string, loss = 0, seed = 1) {
  const gateway = new PppLink({
    lcp: { random: seededBytes(seed), auth: [method] },
    createAuthenticator: (m) => pppAuthenticatorFor(m, { users, random: seededBytes(seed + 1) }),
    ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.5' }) },
  });
  const client = new PppClientLink({ lcp: { random: seededBytes(seed + 2), acceptAuth: [method] }, createAuthPeer: (m) => peerFor(m, password, seed + 3) });
  const rng = seeded(seed + 4);
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client, () => rng() < loss);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  wire.run(120_000, () => (wire.seenA.some((a) => a.type === 'network-up') && wire.seenB.some((a) => a.type === 'network-up')) || gateway.phase === 'dead');
  return { gateway, client, wire };
}

for (const method of ['eap', 'chap-md5', 'pap'] as const) {
  t.test(`${method}: the right password opens the network phase, with 15 % loss too`, async (t) => {
    for (const loss of [0, 0.15]) {
      const { gateway, wire } = run(method, 'Alice-Pass-123', loss, 3);
      t.equal(gateway.phase, 'network', `loss ${loss}: up at ${wire.now} ms`);
      t.equal(gateway.user, 'alice');
    }
  });
  t.test(`${method}: a wrong password ends the link without a network phase`, async (t) => {
    const { gateway, wire } = run(method, 'wrong', 0, 5);
    wire.run(wire.now + 60_000, () => gateway.phase === 'dead');
    t.equal(gateway.phase, 'dead');
    t.match(wire.seenA.find((a) => a.type === 'auth-failed'), { method, reason: /wrong password|failed/ });
    t.notOk(wire.seenA.some((a) => a.type === 'network-up'));
  });
}

t.test('EAP-MSCHAPv2 in PPP gives both ends the same HLAK (the MSK\'s first 32 octets) for SSTP, and the gateway MPPE keys', async (t) => {
  const { wire } = run('eap', 'Alice-Pass-123');
  const a = wire.seenA.find((x) => x.type === 'authenticated');
  const b = wire.seenB.find((x) => x.type === 'authenticated');
  const ka = a?.type === 'authenticated' ? a.keys?.hlak?.reveal() : undefined;
  const kb = b?.type === 'authenticated' ? b.keys?.hlak?.reveal() : undefined;
  t.equal(ka?.length, 32);
  t.same(ka, kb);
  // MPPE (PPTP) keys itself from the MSK's master keys: the gateway receives with its first 16 octets
  // (MasterReceiveKey) and sends with the next 16, the keys RFC 3079 gives MS-CHAPv2 (pppd's view too).
  const mppe = a?.type === 'authenticated' ? a.keys?.mppe : undefined;
  t.same([mppe?.receive.reveal(), mppe?.send.reveal()].map((k) => k && Buffer.from(k).toString('hex')), [Buffer.from(kb!.subarray(0, 16)).toString('hex'), Buffer.from(kb!.subarray(16, 32)).toString('hex')], 'the gateway\'s MPPE keys are the MSK\'s master keys');
});

t.test('CHAP-MD5: the response is MD5(Identifier | secret | Challenge) (RFC 1994 §4.1)', async (t) => {
  const challenge = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
  const peer = new ChapMd5Peer('alice', new Secret('Alice-Pass-123'));
  const out = peer.receive(encodeChapPacket({ code: ChapCode.Challenge, identifier: 42, value: challenge, name: 'gw' })).send[0]!;
  const r = decodeChapPacket(out);
  const expected = createHash('md5').update(Buffer.concat([Uint8Array.of(42), Buffer.from('Alice-Pass-123'), challenge])).digest();
  t.same(r.ok && 'value' in r.value ? Buffer.from(r.value.value) : undefined, expected);
  t.equal(r.ok && 'name' in r.value ? r.value.name : '', 'alice');
});

t.test('PAP codec both ways; insecure methods are flagged', async (t) => {
  const req = { code: PapCode.AuthenticateRequest, identifier: 9, peerId: 'alice', password: Buffer.from('pw') } as const;
  t.match(decodePap(encodePap(req)), { ok: true, value: { code: 1, identifier: 9, peerId: 'alice' } });
  t.match(decodePap(encodePap({ code: PapCode.AuthenticateNak, identifier: 9, message: 'no' })), { ok: true, value: { code: 3, message: 'no' } });
  t.match(insecureAuthMethod('pap'), /clear/);
  t.match(insecureAuthMethod('chap-md5'), /no keys/);
  t.equal(insecureAuthMethod('mschapv2'), undefined);
});

t.test('the EAP authenticator retransmits its request and drops stale responses', async (t) => {
  const auth = pppAuthenticatorFor('eap', { users, random: seededBytes(9) })!;
  const first = auth.start(0).send[0]!;
  t.same(Buffer.from(auth.tick(3000).send[0]!), Buffer.from(first), 'the Request again after 3 s');
  const stale = Uint8Array.of(2, (first[1]! + 1) & 0xff, 0, 5, 1);
  t.same(auth.receive(stale, 3100).send, [], 'a Response to another Identifier is dropped');
  for (let at = 6000; at <= 27_000; at += 3000) auth.tick(at);
  t.match(auth.tick(30_000).outcome, { ok: false, reason: /no EAP response/ });
});

t.test('decoders and authenticators take random and mutated packets without throwing', async (t) => {
  const engines = (['eap', 'chap-md5', 'pap'] as const).map((m) => {
    const a = pppAuthenticatorFor(m, { users, random: seededBytes(13) })!;
    a.start(0);
    return a;
  });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    decodePap(bytes);
    decodeChapPacket(bytes);
    for (const e of engines) e.receive(bytes, 1);
    new PppEapPeer('alice', new Secret('x'), seededBytes(1)).receive(bytes);
    new ChapMd5Peer('alice', new Secret('x')).receive(bytes);
  }), { numRuns: 2000 });
  t.pass('no throw');
});

t.test('issue 15.11: PAP and EAP-MSCHAPv2 authenticate from the NT hash alone; CHAP-MD5 only where the password is kept', async (t) => {
  // Bob's credential holds only his NT hash, as the configuration now stores it.
  const hashOnly = (name: string) => (name === 'bob' ? credentialFromPassword('Bob-Pass-4567') : undefined);
  const login = (method: AuthMethod, password: string) => {
    const gateway = new PppLink({
      lcp: { random: seededBytes(31), auth: [method] },
      createAuthenticator: (m) => pppAuthenticatorFor(m, { users: hashOnly, random: seededBytes(32) }),
      ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.6' }) },
    });
    const secret = new Secret(password);
    const peer = method === 'pap' ? new PapPeer('bob', secret) : method === 'eap' ? new PppEapPeer('bob', secret, seededBytes(33)) : new ChapMd5Peer('bob', secret);
    const client = new PppClientLink({ lcp: { random: seededBytes(34), acceptAuth: [method] }, createAuthPeer: () => peer });
    const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client, () => false);
    wire.takeA(gateway.lowerUp(0));
    wire.takeB(client.lowerUp(0));
    wire.run(60_000, () => wire.seenA.some((a) => a.type === 'network-up' || a.type === 'auth-failed') || gateway.phase === 'dead');
    return wire.seenA;
  };
  for (const method of ['pap', 'eap'] as const) {
    t.ok(login(method, 'Bob-Pass-4567').some((a) => a.type === 'network-up'), `${method}: the right password is accepted`);
    t.match(login(method, 'Bob-Pass-4568').find((a) => a.type === 'auth-failed'), { method }, `${method}: a wrong one refused`);
  }
  t.match(login('chap-md5', 'Bob-Pass-4567').find((a) => a.type === 'auth-failed'), { reason: /CHAP-MD5 is not allowed/ }, 'CHAP-MD5 cannot work from a hash, and says why');
});
