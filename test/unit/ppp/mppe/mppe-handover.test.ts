// MPPE handed to the driver and back (issue 22): a stateless direction's state (count and session
// key) resumes byte for byte where it stopped; a link whose MPPE the driver holds encrypts nothing
// itself, takes the driver's decrypted IP, refuses other protocols from it, and carries on after the
// state comes back. The driver is played here by JavaScript ciphers resumed from the handed state:
// drivers/tests/test_mppe.c proves the C engine makes the same bytes as these.
import t from 'tap';
import { pppAuthenticatorFor } from '../../../../firmware/access/ppp-authenticators.ts';
import { credentialFromPassword } from '../../../../firmware/crypto/user-credential.ts';
import { dialingLink } from '../../../../firmware/ppp/client-call.ts';
import type { ClientLinkAction } from '../../../../firmware/ppp/client-link.ts';
import { encodePppFrame, PppProtocol } from '../../../../firmware/ppp/frame.ts';
import { PppLink, type LinkAction } from '../../../../firmware/ppp/link.ts';
import { MppeDecryptor, MppeEncryptor, type MppeCipherState } from '../../../../firmware/ppp/mppe/mppe-cipher.ts';
import { MppeCiphers } from '../../../../firmware/ppp/mppe/mppe-ciphers.ts';
import { Secret } from '../../../../firmware/util/secret.ts';
import { PppWire } from '../../../helpers/ppp-wire.ts';
import { seededBytes } from '../sim.ts';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i * 11);
const OTHER = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
const PACKET = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 1, 0, 10, 10, 2, 0, 10]);
const frame = (protocol: number, information: Uint8Array) => encodePppFrame({ protocol, information }, { addressControl: true });

const resumedEncryptor = (s: MppeCipherState) => {
  const e = new MppeEncryptor({ startKey: s.startKey, strength: s.strength, stateful: false });
  if (!e.resume(s)) throw new Error('resume refused');
  return e;
};

t.test('a stateless direction resumes byte for byte; foreign and stateful states are refused', async (t) => {
  for (const strength of [40, 56, 128] as const) {
    const a = new MppeEncryptor({ startKey: KEY, strength, stateful: false });
    for (let i = 0; i < 5; i++) a.encrypt(PppProtocol.IPv4, PACKET);
    const b = resumedEncryptor(a.state!);
    t.same(b.encrypt(PppProtocol.IPv4, PACKET), a.encrypt(PppProtocol.IPv4, PACKET), `MPPE-${strength}: the resumed encryptor makes the next packet as the original`);
  }
  const d = new MppeDecryptor({ startKey: KEY, strength: 128, stateful: false });
  const sender = new MppeEncryptor({ startKey: KEY, strength: 128, stateful: false });
  for (let i = 0; i < 3; i++) d.decrypt(sender.encrypt(PppProtocol.IPv4, PACKET));
  const later = new MppeDecryptor({ startKey: KEY, strength: 128, stateful: false });
  t.ok(later.resume(d.state!), 'a decryptor takes the state');
  t.match(later.decrypt(sender.encrypt(PppProtocol.IPv4, PACKET)), { ok: true, information: PACKET }, 'and decrypts the next packet');
  const state = sender.state!;
  const other = new MppeEncryptor({ startKey: OTHER, strength: 128, stateful: false });
  t.notOk(other.resume(state), 'another start key: refused');
  t.notOk(new MppeEncryptor({ startKey: KEY, strength: 56, stateful: false }).resume(state), 'another strength: refused');
  t.notOk(new MppeEncryptor({ startKey: KEY, strength: 128, stateful: false }).resume({ ...state, count: 4096 }), 'a count out of range: refused');
  t.notOk(new MppeEncryptor({ startKey: KEY, strength: 128, stateful: false }).resume({ ...state, sessionKey: state.sessionKey.subarray(0, 8) }), 'a short key: refused');
  t.equal(new MppeEncryptor({ startKey: KEY, strength: 128, stateful: true }).state, undefined, 'a stateful direction has no state to hand over');
  const ciphers = new MppeCiphers({ startKey: KEY, strength: 128, stateful: false }, { startKey: OTHER, strength: 128, stateful: false });
  const handed = ciphers.handOver()!;
  t.ok(handed && ciphers.inDriver && ciphers.handOver() === undefined, 'handed over once; held by the driver');
  t.notOk(ciphers.takeBack({ send: handed.receive, receive: handed.send }), 'directions swapped: not these ciphers\' state');
  t.ok(ciphers.inDriver && ciphers.takeBack(handed) && !ciphers.inDriver, 'their own state: taken back');
  t.equal(new MppeCiphers({ startKey: KEY, strength: 128, stateful: true }, { startKey: KEY, strength: 128, stateful: false }).handOver(), undefined, 'stateful in one direction: stays in JavaScript');
});

t.test('a gateway link whose MPPE the driver holds: IP through the driver, control still its own, state back', async (t) => {
  const users = (name: string) => (name === 'branch' ? credentialFromPassword('Branch-Pass-123') : undefined);
  const gateway = new PppLink({
    lcp: { random: seededBytes(1), auth: ['mschapv2'] },
    createAuthenticator: (m) => pppAuthenticatorFor(m, { users, random: seededBytes(2) }),
    ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.5' }) },
    mppe: { mode: 'require', strengths: [128], allowStateful: false },
  });
  const client = dialingLink({ user: 'branch', password: new Secret('Branch-Pass-123'), askDns: false, mppe: { mode: 'require', strengths: [128], allowStateful: false } });
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  wire.run(60_000, () => (gateway.mppeActive && client.mppeActive && wire.seenB.some((a) => a.type === 'network-up')) || client.phase === 'dead');
  t.ok(gateway.mppeActive && client.mppeActive, 'MPPE on at both ends');
  gateway.encapsulate(PppProtocol.IPv4, PACKET); // one packet from JavaScript first: the count moves
  const handed = gateway.mppe!.handOver()!;
  t.equal(handed.send.count, 0, 'the send direction is handed over at the count JavaScript reached');
  t.equal(gateway.encapsulate(PppProtocol.IPv4, PACKET), undefined, 'the link encrypts nothing while the driver holds MPPE');
  t.equal(gateway.drops['IP out while MPPE is in the driver'], 1, 'counted');

  const driver = resumedEncryptor(handed.send);
  const skipped = client.receiveFrame(frame(PppProtocol.CompressedDatagram, driver.encrypt(PppProtocol.IPv4, PACKET)), wire.now);
  t.match(skipped.find((a) => a.type === 'deliver'), { packet: PACKET }, 'the client decrypts what the driver sent (its count after JavaScript\'s)');
  const delivered = gateway.receiveDecrypted(frame(PppProtocol.IPv4, PACKET), wire.now);
  t.match(delivered.find((a) => a.type === 'deliver'), { packet: PACKET }, 'IP the driver decrypted and left to JavaScript is delivered');
  const lcpInside = gateway.receiveDecrypted(frame(PppProtocol.LCP, Uint8Array.from([9, 1, 0, 8, 0, 0, 0, 0])), wire.now);
  t.ok(lcpInside.length === 0 && gateway.drops['MPPE carried a protocol other than IP'] === 1, 'another protocol inside MPPE is dropped, as JavaScript\'s own decryption does');
  const plain = gateway.receiveFrame(frame(PppProtocol.IPv4, PACKET), wire.now);
  t.notOk(plain.some((a) => a.type === 'deliver'), 'plain IP on the wire is still refused');

  t.ok(gateway.mppe!.takeBack({ send: driver.state!, receive: handed.receive }), 'the driver\'s state comes back');
  const after = gateway.encapsulate(PppProtocol.IPv4, PACKET)!;
  const atClient = client.receiveFrame(frame(after.protocol, after.information), wire.now);
  t.match(atClient.find((a) => a.type === 'deliver'), { packet: PACKET }, 'and JavaScript carries on from it: the client decrypts the next packet');
  t.notOk(gateway.receiveDecrypted(frame(PppProtocol.IPv4, PACKET), wire.now).some((a) => a.type === 'deliver'), 'no decrypted frame is taken once the driver no longer holds MPPE');
});
