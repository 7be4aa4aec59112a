// IKEv1 Main Mode with the elliptic-curve groups (RFC 5903 §5 values, RFC 4753's IKEv1 use), in
// phase 1 and as the Quick Mode PFS group, and the ID payload types a peer identifies itself with
// (RFC 2407 §4.6.2): an address, a name, a user@name and a certificate's DN.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { subjectDer } from '../../../firmware/ike/crypto/peer-certificate.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { phase1Iv } from '../../../firmware/ikev1/crypto/cbc.ts';
import { open } from '../../../firmware/ikev1/engine/protect.ts';
import { decodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { IdType, Phase1Attr } from '../../../firmware/ikev1/registry.ts';
import { attributeNumber } from '../../../firmware/ikev1/payloads/attributes.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function pair(overA: Over, overB: Over) {
  const a = new Ikev1Engine([connection('to-b', { remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('ga'));
  const b = new Ikev1Engine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('gb'));
  const p = new Ikev1Pair(a, b, { a: A, b: B });
  p.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  p.run(60_000);
  return p;
}

/** The DH group the responder's message 2 accepted, read off the wire. */
function chosenGroup(p: Ikev1Pair): number | undefined {
  const mm2 = p.wireLog.find((x) => x.from.address === B);
  const m = mm2 && decodeIsakmpMessage(mm2.packet);
  const sa = m?.ok && !m.value.encrypted ? m.value.payloads.find((x) => x.kind === 'SA') : undefined;
  const attr = sa?.kind === 'SA' ? sa.sa.proposals[0]?.transforms[0]?.attributes.find((x) => x.type === Phase1Attr.GROUP_DESCRIPTION) : undefined;
  return attr && attributeNumber(attr);
}

/** The KE payloads' lengths in Main Mode messages 3 and 4, as they crossed the wire. */
/** The ID type A's message 5 carried: opened with B's keys and the first phase 1 IV (RFC 2409 Appendix B). */
function message5IdType(p: Ikev1Pair): number | undefined {
  const sa = p.engines.b.sas[0]!;
  const mm5 = p.wireLog.find((x) => x.from.address === A && x.packet[18] === 2 && (x.packet[19]! & 1) === 1);
  const m = mm5 && decodeIsakmpMessage(mm5.packet);
  if (!m?.ok || !m.value.encrypted) return undefined;
  const opened = open(sa, phase1Iv(sa.crypto!.prf.hash, sa.crypto!.cipher, sa.gxi, sa.gxr), m.value.header, m.value.ciphertext);
  const id = 'error' in opened ? undefined : opened.payloads.find((x) => x.kind === 'ID');
  return id?.kind === 'ID' ? id.id.idType : undefined;
}

const keLengths = (p: Ikev1Pair) => p.wireLog.slice(2, 4).map((x) => {
  const m = decodeIsakmpMessage(x.packet);
  const ke = m.ok && !m.value.encrypted ? m.value.payloads.find((y) => y.kind === 'KE') : undefined;
  return ke?.kind === 'KE' ? ke.data.length : undefined;
});

t.test('ECP groups: phase 1 in ECP-256 and ECP-384 (x | y public values), PFS in an ECP group, keys agree', async (t) => {
  for (const [group, id, keLength] of [['ecp256', 19, 64], ['ecp384', 20, 96]] as const) {
    const p = pair({ ike: [`aes128-sha256-${group}`], esp: [`aes128gcm16-${group}`] }, { ike: ['aes256-sha256-modp2048', `aes128-sha256-${group}`], esp: [`aes128gcm16-${group}`] });
    t.equal(chosenGroup(p), id, `${group}: the responder chose group ${id}`);
    t.same(keLengths(p), [keLength, keLength], `${group}: KE carries x | y, ${keLength} bytes (RFC 5903 §7)`);
    const a = p.of('a', 'install-child')[0]?.child;
    const b = p.of('b', 'install-child')[0]?.child;
    t.ok(a && b, `${group}: both installed the child`);
    t.equal(a?.inbound.encryption.reveal().toString('hex'), b?.outbound.encryption.reveal().toString('hex'), `${group}: the same ESP keys crosswise`);
    t.equal(a?.inbound.spi, b?.outbound.spi);
    t.ok(p.logs('a').some((l) => /^send Quick Mode\* \[HASH, SA, NONCE, KE, ID, ID\]/.test(l)), `${group}: Quick Mode carried a KE (PFS)`);
    t.equal(p.engines.a.sas[0]?.crypto?.keys?.skeyid.toString('hex'), p.engines.b.sas[0]?.crypto?.keys?.skeyid.toString('hex'), `${group}: the same SKEYID`);
  }
  const refused = pair({ ike: ['aes128-sha256-ecp256'] }, { ike: ['aes128-sha256-modp2048'] });
  t.equal(refused.of('b', 'ike-up').length, 0, 'a responder without ECP refuses an ECP-only offer');
  t.ok(refused.logs('b').some((l) => /NO-PROPOSAL-CHOSEN.*offered: AES_CBC-128\/SHA2_256\/PRE_SHARED_KEY\/ECP_256; accepted: .*MODP_2048/.test(l)), 'and names the group offered');
});

t.test('PFS is optional: on when the ESP proposal names a group, off otherwise; taken when offered; a PFS-requiring responder refuses an offer without', async (t) => {
  const off = pair({ esp: ['aes128gcm16'] }, { esp: ['aes128gcm16'] });
  t.equal(off.of('b', 'install-child').length, 1, 'no PFS: child installed');
  t.ok(off.logs('a').some((l) => /^send Quick Mode\* \[HASH, SA, NONCE, ID, ID\]/.test(l)), 'no KE in Quick Mode');
  const both = pair({ esp: ['aes128gcm16-modp2048'] }, { esp: ['aes128gcm16-modp2048'] });
  t.ok(both.logs('a').some((l) => /^send Quick Mode\* \[HASH, SA, NONCE, KE, ID, ID\]/.test(l)), 'PFS on both ends: KE in Quick Mode');
  t.equal(both.of('b', 'install-child').length, 1, 'and the child is installed');
  const insisting = pair({ esp: ['aes128gcm16-modp2048'] }, { esp: ['aes128gcm16'] });
  t.equal(insisting.of('a', 'install-child').length, 1, 'a responder without PFS of its own takes an initiator\'s PFS in one of its IKE groups');
  t.ok(insisting.logs('b').some((l) => /^send Quick Mode\* \[HASH, SA, NONCE, KE, ID, ID\]/.test(l)), 'answering with its KE');
  const required = pair({ esp: ['aes128gcm16'] }, { esp: ['aes128gcm16-modp2048'] });
  t.equal(required.of('b', 'install-child').length, 0, 'a responder requiring PFS refuses a Quick Mode without KE');
  t.ok(required.logs('b').some((l) => /no acceptable ESP proposal/.test(l)), 'saying so');
});

t.test('ID types: an address, a name, a user@name (pre-shared key) and a DN (certificate), each matched against the remote ID', async (t) => {
  for (const [localId, idType] of [[undefined, IdType.ID_IPV4_ADDR], ['branch.example', IdType.ID_FQDN], ['branch@example.com', IdType.ID_USER_FQDN]] as const) {
    const p = pair(localId ? { localId } : {}, localId ? { remoteId: localId } : {});
    t.equal(message5IdType(p), idType, `${localId ?? 'address'}: message 5 carries ID type ${idType}`);
    t.equal(p.of('b', 'ike-up')[0]?.remoteId, localId ?? A, `${localId ?? 'address'}: B authenticated A by it`);
    t.equal(p.engines.b.sas[0]?.remoteId, localId ?? A);
    const expectWrong = pair(localId ? { localId } : {}, { remoteId: 'someone-else.example' });
    t.equal(expectWrong.of('b', 'ike-up').length, 0, `${localId ?? 'address'}: refused where another ID is expected`);
    t.ok(expectWrong.logs('b').some((l) => l.includes(`the peer's ID ${localId ?? A} is not the expected someone-else.example`)), 'and the line names both');
  }
  // A DN ID: the certificate's subject, as Windows and charon send it with a machine certificate.
  const ca = testCa('IKEv1 ID Test CA');
  const idA = identity(ca, 'a.example', ['a.example']);
  const idB = identity(ca, 'b.example', ['b.example']);
  const dnA = `dn:${subjectDer(Buffer.from(new X509Certificate(idA.issued.certificatePem).raw))!.toString('hex')}`;
  const trust = { peerAuth: 'certificate' as const, trustedCas: [der(ca.certificatePem)] };
  const withDn = pair({ ...idA.auth, ...trust, localId: dnA, remoteId: 'b.example' }, { ...idB.auth, ...trust, localId: 'b.example', remoteId: dnA });
  t.equal(message5IdType(withDn), IdType.ID_DER_ASN1_DN, 'message 5 carries ID type 9 (DER DN)');
  t.equal(withDn.of('b', 'ike-up')[0]?.remoteId, dnA, 'B authenticated A by the DN its certificate names');
  t.equal(withDn.of('b', 'install-child').length, 1);
  const sent = withDn.logs('a').find((l) => /^send Main Mode\* \[ID, CERT, SIG/.test(l));
  t.ok(sent, 'A sent ID, CERT and SIG');
  const anyId = pair({ ...idA.auth, ...trust, localId: dnA, remoteId: 'b.example' }, { ...idB.auth, ...trust, localId: 'b.example', anyRemoteId: true });
  t.equal(anyId.of('b', 'ike-up')[0]?.remoteId, dnA, 'a connection taking any ID takes the DN (the L2TP responder\'s case)');
  const otherDn = `dn:${subjectDer(Buffer.from(new X509Certificate(idB.issued.certificatePem).raw))!.toString('hex')}`;
  const wrongDn = pair({ ...idA.auth, ...trust, localId: otherDn, remoteId: 'b.example' }, { ...idB.auth, ...trust, localId: 'b.example', anyRemoteId: true });
  t.equal(wrongDn.of('b', 'ike-up').length, 0, 'a DN the certificate does not carry is refused');
  t.ok(wrongDn.logs('b').some((l) => /certificate refused: certificate 'CN=a\.example.*' does not name the ID 'dn:/.test(l)), 'saying the certificate does not name it');
});
