// IKEv1 key material (RFC 2409 §5, Appendix B) from fixed inputs. Expected values are computed
// here step by step with node:crypto's HMAC, written from the RFC's formulas, independently of the
// module; the strongSwan interop (test/interop) checks the same functions against a real peer.
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { espAlgorithms, phase1Cipher, phase1Prf } from '../../../firmware/ikev1/crypto/algorithms.ts';
import { openMessage, phase1Iv, phase2Iv, sealMessage } from '../../../firmware/ikev1/crypto/cbc.ts';
import { encryptionKey, hashI, hashR, keymat, natDetectionHash, phase1Keys, quickModeHash1, quickModeHash2, quickModeHash3, skeyidPsk, skeyidSignature } from '../../../firmware/ikev1/crypto/keys.ts';
import { decodeIsakmpMessage, decodePayloads, encodePayloads } from '../../../firmware/ikev1/message.ts';
import { EncryptionAlgorithm, HashAlgorithm } from '../../../firmware/ikev1/registry.ts';

const hmac = (hash: string, key: Uint8Array, ...data: Uint8Array[]) => { const h = createHmac(hash, key); for (const d of data) h.update(d); return h.digest(); };
const fill = (n: number, v: number) => Buffer.alloc(n, v);
const ni = fill(16, 0x11);
const nr = fill(16, 0x22);
const gxy = fill(128, 0x33);
const gxi = fill(128, 0x44);
const gxr = fill(128, 0x55);
const ckyI = 0x0102030405060708n;
const ckyR = 0x1112131415161718n;
const cookies = Buffer.from('01020304050607081112131415161718', 'hex');
const sha1 = phase1Prf(HashAlgorithm.SHA)!;
const sha256 = phase1Prf(HashAlgorithm.SHA2_256)!;

t.test('SKEYID for PSK and for signatures, then SKEYID_d/a/e (§5)', async (t) => {
  const psk = Buffer.from('correct horse battery staple');
  const skeyid = skeyidPsk(sha1, psk, ni, nr);
  t.same(skeyid, hmac('sha1', psk, ni, nr), 'prf(pre-shared-key, Ni_b | Nr_b)');
  t.same(skeyidSignature(sha1, ni, nr, gxy), hmac('sha1', Buffer.concat([ni, nr]), gxy), 'prf(Ni_b | Nr_b, g^xy)');
  const k = phase1Keys(sha1, skeyid, gxy, ckyI, ckyR, 16);
  const d = hmac('sha1', skeyid, gxy, cookies, Buffer.of(0));
  const a = hmac('sha1', skeyid, d, gxy, cookies, Buffer.of(1));
  const e = hmac('sha1', skeyid, a, gxy, cookies, Buffer.of(2));
  t.same([k.skeyidD, k.skeyidA, k.skeyidE], [d, a, e]);
  t.same(k.encryptionKey, e.subarray(0, 16), 'AES-128 takes the first 16 bytes of SKEYID_e');
});

t.test('Appendix B key expansion when SKEYID_e is short: Ka = K1 | K2, K1 = prf(SKEYID_e, 0)', async (t) => {
  const e = fill(20, 0x66);
  const k1 = hmac('sha1', e, Buffer.of(0));
  const k2 = hmac('sha1', e, k1);
  t.same(encryptionKey(sha1, e, 24), Buffer.concat([k1, k2]).subarray(0, 24), '3DES with SHA1: 24 of 40 bytes');
  t.same(encryptionKey(sha1, e, 32), Buffer.concat([k1, k2]).subarray(0, 32), 'AES-256 with SHA1');
  t.same(encryptionKey(sha256, fill(32, 1), 32), fill(32, 1), 'AES-256 with SHA-256: no expansion');
});

t.test('HASH_I and HASH_R cover the offer and each side\'s ID body (§5)', async (t) => {
  const skeyid = fill(20, 0x77);
  const saiB = Buffer.from('00000001000000010000000c01010001', 'hex');
  const idii = Buffer.from('01110000c0000201', 'hex');
  const idir = Buffer.from('01110000c0000202', 'hex');
  const v = { gxi, gxr, ckyI, ckyR, saiB };
  t.same(hashI(sha1, skeyid, v, idii), hmac('sha1', skeyid, gxi, gxr, cookies, saiB, idii));
  t.same(hashR(sha1, skeyid, v, idir), hmac('sha1', skeyid, gxr, gxi, Buffer.from('11121314151617180102030405060708', 'hex'), saiB, idir));
});

t.test('Quick Mode HASH(1..3) and KEYMAT with and without PFS (§5.5)', async (t) => {
  const a = fill(20, 0x88);
  const d = fill(20, 0x99);
  const mid = Buffer.from('a1b2c3d4', 'hex');
  const after = Buffer.from('0a000014aabbccdd', 'hex');
  t.same(quickModeHash1(sha1, a, 0xa1b2c3d4, after), hmac('sha1', a, mid, after));
  t.same(quickModeHash2(sha1, a, 0xa1b2c3d4, ni, after), hmac('sha1', a, mid, ni, after));
  t.same(quickModeHash3(sha1, a, 0xa1b2c3d4, ni, nr), hmac('sha1', a, Buffer.of(0), mid, ni, nr));
  const spi = Buffer.from('c0000001', 'hex');
  const k1 = hmac('sha1', d, Buffer.of(3), spi, ni, nr);
  const k2 = hmac('sha1', d, k1, Buffer.of(3), spi, ni, nr);
  const k3 = hmac('sha1', d, k2, Buffer.of(3), spi, ni, nr);
  t.same(keymat(sha1, d, 3, 0xc0000001, ni, nr, 52), Buffer.concat([k1, k2, k3]).subarray(0, 52), 'AES-256 + HMAC-SHA1: 52 bytes from three blocks');
  const q = fill(32, 0xab);
  const p1 = hmac('sha1', d, q, Buffer.of(3), spi, ni, nr);
  t.same(keymat(sha1, d, 3, 0xc0000001, ni, nr, 20, q), p1, 'with PFS g(qm)^xy comes first');
});

t.test('NAT-D is the plain hash of cookies, address and port (RFC 3947 §3.2)', async (t) => {
  const want = createHash('sha1').update(Buffer.concat([cookies, Buffer.from([192, 0, 2, 1]), Buffer.from([0x01, 0xf4])])).digest();
  t.same(natDetectionHash('sha1', ckyI, ckyR, Buffer.from([192, 0, 2, 1]), 500), want);
});

t.test('algorithm tables', async (t) => {
  t.same(phase1Cipher(EncryptionAlgorithm['3DES_CBC'], 0), { id: 5, cipher: 'des-ede3-cbc', keyLength: 24, blockSize: 8 });
  t.equal(phase1Cipher(EncryptionAlgorithm.AES_CBC, 0), undefined, 'AES needs its key length');
  t.equal(phase1Cipher(EncryptionAlgorithm.DES_CBC, 0), undefined, 'single DES is not offered');
  t.equal(phase1Prf(HashAlgorithm.SHA2_384)?.hash, 'sha384');
  t.equal(espAlgorithms(12, 256, 2)?.suite, 'aes-cbc-256-hmac-sha1-96');
  t.same(espAlgorithms(20, 128, undefined), { suite: 'aes-gcm-128', encryptionKeyLength: 20, integrityKeyLength: 0 });
  t.equal(espAlgorithms(12, 128, undefined), undefined, 'AES-CBC without authentication');
  t.same(espAlgorithms(3, 0, 2), { suite: '3des-cbc-hmac-sha1-96', encryptionKeyLength: 24, integrityKeyLength: 20 }, '3DES ESP (more in esp-3des.test.ts)');
});

t.test('encryption: zero padding, IV chaining and the phase 2 IV (Appendix B)', async (t) => {
  const cipher = phase1Cipher(EncryptionAlgorithm.AES_CBC, 128)!;
  const key = { cipher, key: fill(16, 0x5a) };
  const iv0 = phase1Iv('sha1', cipher, gxi, gxr);
  t.same(iv0, createHash('sha1').update(gxi).update(gxr).digest().subarray(0, 16));
  const chain = encodePayloads([{ kind: 'ID', id: { idType: 1, protocolId: 17, port: 500, data: Buffer.from([192, 0, 2, 1]) } }, { kind: 'HASH', data: fill(20, 7) }]);
  const sealed = sealMessage(key, iv0, { initiatorCookie: ckyI, responderCookie: ckyR, nextPayload: chain.first, exchangeType: 2, messageId: 0 }, chain.bytes);
  t.equal(sealed.packet.length, 28 + 48, '36 bytes of payloads padded to 48');
  const m = decodeIsakmpMessage(sealed.packet);
  if (!m.ok || !m.value.encrypted) return t.fail('not an encrypted message');
  t.same(sealed.nextIv, m.value.ciphertext.subarray(32), 'the next IV is the last ciphertext block');
  const opened = openMessage(key, iv0, m.value.ciphertext);
  if (!opened.ok) return t.fail(opened.reason);
  t.same(opened.plain.subarray(36), fill(12, 0), 'zero padding');
  t.same(opened.nextIv, sealed.nextIv);
  const again = decodePayloads(m.value.header.nextPayload, opened.plain, 28, true);
  t.same(again.ok && again.value.map((p) => p.kind), ['ID', 'HASH'], 'the chain decodes, padding skipped');
  t.notOk(openMessage(key, iv0, m.value.ciphertext.subarray(0, 40)).ok, 'not whole blocks');
  const wrongIv = openMessage(key, fill(16, 0), m.value.ciphertext);
  t.ok(wrongIv.ok && !Buffer.from(wrongIv.plain.subarray(0, 16)).equals(Buffer.from(opened.plain.subarray(0, 16))), 'a wrong IV garbles the first block only');
  const mid = Buffer.from('0000abcd', 'hex');
  t.same(phase2Iv('sha1', cipher, sealed.nextIv, 0xabcd), createHash('sha1').update(sealed.nextIv).update(mid).digest().subarray(0, 16));
  const des = phase1Cipher(EncryptionAlgorithm['3DES_CBC'], 0)!;
  t.equal(phase1Iv('md5', des, gxi, gxr).length, 8, '3DES IV: 8 bytes');
});
