import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { createDh, supportedGroups } from '../../../firmware/ike/crypto/dh.ts';
import { deriveChildSaKeys, deriveIkeSaKeys } from '../../../firmware/ike/crypto/key-derivation.ts';
import { prfPlus } from '../../../firmware/ike/crypto/prf.ts';
import { openSkBody, sealSkBody, skBodyLength, type SkKeys } from '../../../firmware/ike/crypto/sk-cipher.ts';
import { cipherSuite, prfAlgorithm, type CipherSuite } from '../../../firmware/ike/crypto/transforms.ts';
import { DhId, EncrId, IntegId, PrfId, TransformType } from '../../../firmware/ike/registry/numbers.ts';

const sha256 = prfAlgorithm({ type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_256 })!;
const suites: Record<string, CipherSuite> = {
  'aes128-sha1': cipherSuite([{ type: 1, id: EncrId.ENCR_AES_CBC, keyLength: 128 }, { type: 3, id: IntegId.AUTH_HMAC_SHA1_96 }])!,
  'aes256-sha256': cipherSuite([{ type: 1, id: EncrId.ENCR_AES_CBC, keyLength: 256 }, { type: 3, id: IntegId.AUTH_HMAC_SHA2_256_128 }])!,
  aes128gcm16: cipherSuite([{ type: 1, id: EncrId.ENCR_AES_GCM_16, keyLength: 128 }])!,
  aes256gcm16: cipherSuite([{ type: 1, id: EncrId.ENCR_AES_GCM_16, keyLength: 256 }])!,
  chacha20poly1305: cipherSuite([{ type: 1, id: EncrId.ENCR_CHACHA20_POLY1305 }])!,
};

t.test('prf+ chains blocks with a one-octet counter (RFC 7296 §2.13)', async (t) => {
  const key = Buffer.from('key');
  const seed = Buffer.from('seed');
  const t1 = createHmac('sha256', key).update(seed).update(Buffer.of(1)).digest();
  const t2 = createHmac('sha256', key).update(t1).update(seed).update(Buffer.of(2)).digest();
  t.same(prfPlus(sha256, key, seed, 40), Buffer.concat([t1, t2]).subarray(0, 40));
  t.throws(() => prfPlus(sha256, key, seed, 32 * 256), /255 blocks/);
});

t.test('every supported DH group agrees on a secret and refuses bad public values', async (t) => {
  t.same([...supportedGroups].sort((a, b) => a - b), [2, 14, 15, 16, 19, 20, 21, 31]);
  for (const group of supportedGroups) {
    const a = createDh(group)!;
    const b = createDh(group)!;
    const s1 = a.computeSecret(b.publicValue);
    const s2 = b.computeSecret(a.publicValue);
    t.ok(s1 && s2 && Buffer.from(s1).equals(Buffer.from(s2)), `group ${group} agrees`);
    t.equal(a.computeSecret(b.publicValue.subarray(1)), undefined, `group ${group}: wrong length refused`);
    t.equal(a.computeSecret(new Uint8Array(a.publicValue.length)), undefined, `group ${group}: all-zero value refused`);
  }
  const modp = createDh(DhId.MODP_1024)!;
  const one = new Uint8Array(128);
  one[127] = 1;
  t.equal(modp.computeSecret(one), undefined, 'MODP: y = 1 refused (RFC 6989)');
  t.equal(createDh(DhId.ECP_256)!.computeSecret(randomBytes(64)), undefined, 'ECP: a point off the curve refused');
  t.equal(createDh(1)!, undefined, 'group 1 is not offered');
});

t.test('IKE and child key material is cut in RFC 7296 order and sizes', async (t) => {
  const ni = randomBytes(32);
  const nr = randomBytes(32);
  const secret = randomBytes(256);
  const suite = suites['aes256-sha256']!;
  const { skeyseed, keys } = deriveIkeSaKeys(sha256, suite, ni, nr, secret, 1n, 2n);
  t.same(skeyseed, createHmac('sha256', Buffer.concat([ni, nr])).update(secret).digest(), 'SKEYSEED = prf(Ni | Nr, g^ir)');
  const spis = Buffer.from('00000000000000010000000000000002', 'hex');
  const stream = prfPlus(sha256, skeyseed, Buffer.concat([ni, nr, spis]), 32 * 3 + 32 * 2 + 32 * 2);
  t.same(Buffer.concat([keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr]), stream);
  t.same([keys.skD.length, keys.skAi.length, keys.skEi.length, keys.skPi.length], [32, 32, 32, 32]);
  const gcm = deriveChildSaKeys(sha256, keys.skD, suites.aes128gcm16!, ni, nr);
  t.equal(gcm.initiatorToResponder.encryption.length, 20, 'AES-GCM-128: key and 4-byte salt');
  t.equal(gcm.initiatorToResponder.integrity, undefined);
  const cbc = deriveChildSaKeys(sha256, keys.skD, suites['aes128-sha1']!, ni, nr);
  t.same(Buffer.concat([cbc.initiatorToResponder.encryption, cbc.initiatorToResponder.integrity!, cbc.responderToInitiator.encryption, cbc.responderToInitiator.integrity!]),
    prfPlus(sha256, keys.skD, Buffer.concat([ni, nr]), 2 * (16 + 20)), 'KEYMAT: ei, ai, er, ar');
});

t.test('the Encrypted payload seals and opens for every suite; any change is caught', async (t) => {
  for (const [name, suite] of Object.entries(suites)) {
    const keys: SkKeys = { suite, encryption: randomBytes(suite.encr.keyLength + suite.encr.saltLength), ...(suite.integ ? { integrity: randomBytes(suite.integ.keyLength) } : {}) };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (inner, aad) => {
      const body = sealSkBody(keys, aad, inner, randomBytes(suite.encr.ivLength));
      if (body.length !== skBodyLength(suite, inner.length)) return false;
      const message = Buffer.concat([aad, body]);
      const opened = openSkBody(keys, message, aad.length);
      if (!opened.ok || !Buffer.from(opened.inner).equals(Buffer.from(inner))) return false;
      const bit = (inner.length + aad.length) % (message.length * 8);
      message[bit >> 3]! ^= 1 << (bit & 7);
      return !openSkBody(keys, message, aad.length).ok;
    }), { numRuns: 200 });
    t.pass(`${name}: round trip, tamper detection`);
  }
});
