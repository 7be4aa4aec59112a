import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { desEncryptBlock, desEncryptBlock7, expandDesKey } from '../../../firmware/crypto/des.ts';
import { md4 } from '../../../firmware/crypto/md4.ts';
import {
  challengeHash,
  challengeResponse,
  checkAuthenticatorResponse,
  eapMschapv2Msk,
  generateAuthenticatorResponse,
  generateNtResponse,
  getAsymmetricStartKey,
  getMasterKey,
  hashNtPasswordHash,
  mschapUserName,
  ntPasswordHash,
} from '../../../firmware/crypto/mschapv2.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const upper = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

// RFC 2759 §9.2, the example also used by RFC 3079 §3.5.
const V = {
  userName: 'User',
  password: 'clientPass',
  authenticatorChallenge: hex('5B5D7C7D7B3F2F3E3C2C602132262628'),
  peerChallenge: hex('21402324255E262A28295F2B3A337C7E'),
  challenge: 'D02E4386BCE91226',
  passwordHash: '44EBBA8D5312B8D611474411F56989AE',
  ntResponse: '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF',
  passwordHashHash: '41C00C584BD2D91C4017A2A12FA59F3F',
  authenticatorResponse: 'S=407A5589115FD0D6209F510FE9C04566932CDA56',
};

t.test('md4 matches every RFC 1320 §A.5 test vector', async (t) => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of suite) t.equal(md4(Buffer.from(input, 'ascii')).toString('hex'), digest, `MD4("${input}")`);
});

t.test('md4 is 16 bytes and deterministic, across the padding boundaries too', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      const a = md4(data);
      return a.length === 16 && a.equals(md4(Uint8Array.from(data)));
    }),
  );
  // Lengths 55, 56 and 64 need one or two padding blocks (RFC 1320 §3.1); all must differ.
  const digests = new Set([55, 56, 63, 64, 65].map((n) => md4(Buffer.alloc(n, 0x61)).toString('hex')));
  t.equal(digests.size, 5);
});

t.test('DES: FIPS 81 ECB example, with an 8-byte key and its 7-byte form', async (t) => {
  // FIPS PUB 81 Appendix B: key 0123456789ABCDEF, "Now is t" -> 3FA40E8A984D4815.
  const plain = hex('4E6F772069732074');
  t.equal(upper(desEncryptBlock(hex('0123456789ABCDEF'), plain)), '3FA40E8A984D4815');
  // The same key without its parity bits is 00 45 13 38 95 73 77; expansion restores it exactly
  // (every byte of 0123456789ABCDEF already has odd parity).
  t.equal(upper(expandDesKey(hex('00451338957377'))), '0123456789ABCDEF');
  t.equal(upper(desEncryptBlock7(hex('00451338957377'), plain)), '3FA40E8A984D4815');
  t.throws(() => desEncryptBlock7(hex('001122334455'), plain), RangeError);
  t.throws(() => desEncryptBlock(hex('0123456789ABCDEF'), hex('00')), RangeError);
});

t.test('DES key expansion keeps all 56 bits and sets odd parity (RFC 2759 §8.6)', async (t) => {
  const squeeze = (key8: Uint8Array) => {
    let bits = 0n;
    for (const byte of key8) bits = (bits << 7n) | BigInt(byte >> 1);
    return Buffer.from(bits.toString(16).padStart(14, '0'), 'hex');
  };
  const ones = (n: number) => n.toString(2).replaceAll('0', '').length;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 7, maxLength: 7 }), (key7) => {
      const key8 = expandDesKey(key7);
      return squeeze(key8).equals(Buffer.from(key7)) && [...key8].every((b) => ones(b) % 2 === 1);
    }),
  );
  t.pass('56 bits in, the same 56 bits out');
});

t.test('RFC 2759 §9.2: every intermediate value and the authenticator response', async (t) => {
  const hash = ntPasswordHash(V.password);
  t.equal(upper(hash), V.passwordHash, 'NtPasswordHash');
  t.equal(upper(hashNtPasswordHash(hash)), V.passwordHashHash, 'PasswordHashHash');
  const challenge = challengeHash(V.peerChallenge, V.authenticatorChallenge, V.userName);
  t.equal(upper(challenge), V.challenge, 'ChallengeHash');
  // ChallengeResponse is three DES encryptions under 7-byte keys: this checks the expansion.
  t.equal(upper(challengeResponse(challenge, hash)), V.ntResponse, 'ChallengeResponse');
  const nt = generateNtResponse(V.authenticatorChallenge, V.peerChallenge, V.userName, V.password);
  t.equal(upper(nt), V.ntResponse, 'GenerateNTResponse');
  const s = generateAuthenticatorResponse(V.password, nt, V.peerChallenge, V.authenticatorChallenge, V.userName);
  t.equal(s, V.authenticatorResponse, 'GenerateAuthenticatorResponse');
});

t.test('CheckAuthenticatorResponse accepts the right string only (RFC 2759 §8.8)', async (t) => {
  const nt = hex(V.ntResponse);
  const check = (received: string, password = V.password) =>
    checkAuthenticatorResponse(password, nt, V.peerChallenge, V.authenticatorChallenge, V.userName, received);
  t.ok(check(V.authenticatorResponse));
  t.ok(check(V.authenticatorResponse.toLowerCase().replace('s=', 'S=')), 'hex case is not held against the peer');
  t.notOk(check(V.authenticatorResponse.replace('56', '57')), 'one digit off');
  t.notOk(check(V.authenticatorResponse, 'clientPasS'), 'wrong password');
  t.notOk(check(V.authenticatorResponse.slice(0, 40)), 'truncated');
  t.notOk(check(`${V.authenticatorResponse} M=hello`), 'the message part is for the caller to strip');
  t.notOk(check(V.authenticatorResponse.replace('S=', 'X=')), 'no S= prefix');
});

t.test('the domain prefix is left out of ChallengeHash (RFC 2759 §8.2)', async (t) => {
  t.equal(mschapUserName('CORP\\User'), 'User');
  t.equal(mschapUserName('User'), 'User');
  t.equal(mschapUserName('CORP\\'), '');
  const withDomain = generateNtResponse(V.authenticatorChallenge, V.peerChallenge, 'CORP\\User', V.password);
  t.equal(upper(withDomain), V.ntResponse);
});

t.test('a Secret password gives the same answers and never prints', async (t) => {
  const secret = new Secret(V.password);
  t.equal(upper(ntPasswordHash(secret)), V.passwordHash);
  t.equal(upper(eapMschapv2Msk(secret, hex(V.ntResponse))), upper(eapMschapv2Msk(V.password, hex(V.ntResponse))));
  t.notMatch(inspect({ secret }), /clientPass/);
});

t.test('RFC 3079 §3.5.3 (128-bit) and §3.5.1/§3.5.2 (40/56-bit) start keys', async (t) => {
  const masterKey = getMasterKey(hex(V.passwordHashHash), hex(V.ntResponse));
  t.equal(upper(masterKey), 'FDECE3717A8C838CB388E527AE3CDD31', 'MasterKey');
  // The RFC's SendStartKey is the server's send key: GetAsymmetricStartKey(.., TRUE, TRUE), Magic3.
  t.equal(upper(getAsymmetricStartKey(masterKey, 16, true, true)), '8B7CDC149B993A1BA118CB153F56DCCB', 'SendStartKey128');
  t.equal(upper(getAsymmetricStartKey(masterKey, 8, true, true)), '8B7CDC149B993A1B', 'SendStartKey40 / SendStartKey56');
});

t.test('one side\'s send key is the other side\'s receive key (RFC 3079 §3.4)', async (t) => {
  const masterKey = getMasterKey(hex(V.passwordHashHash), hex(V.ntResponse));
  const key = (isSend: boolean, isServer: boolean) => getAsymmetricStartKey(masterKey, 16, isSend, isServer);
  t.same(key(true, true), key(false, false), 'server send = client receive');
  t.same(key(true, false), key(false, true), 'client send = server receive');
  t.notSame(key(true, true), key(true, false), 'the two directions differ');
});

t.test('EAP-MSCHAPv2 MSK is MasterReceiveKey | MasterSendKey | 32 zero bytes', async (t) => {
  const nt = hex(V.ntResponse);
  const msk = eapMschapv2Msk(V.password, nt);
  const masterKey = getMasterKey(hex(V.passwordHashHash), nt);
  t.equal(msk.length, 64);
  t.same(msk.subarray(0, 16), getAsymmetricStartKey(masterKey, 16, false, true), 'server receive key first');
  t.same(msk.subarray(16, 32), getAsymmetricStartKey(masterKey, 16, true, true), 'then server send key (SendStartKey128)');
  t.equal(upper(msk.subarray(16, 32)), '8B7CDC149B993A1BA118CB153F56DCCB');
  t.same(msk.subarray(32), Buffer.alloc(32), 'zero padding');
  // IKEv2 keys its AUTH HMAC with the MSK (RFC 7296 §2.16); HMAC zero-pads short keys (RFC 2104),
  // so a peer exporting only the first 32 bytes (hostapd) computes the same AUTH.
  for (const alg of ['sha1', 'sha256', 'sha512']) {
    const mac = (key: Uint8Array) => createHmac(alg, key).update('Key Pad for IKEv2').digest('hex');
    t.equal(mac(msk.subarray(0, 32)), mac(msk), `${alg}: 32- and 64-byte MSK agree`);
  }
});

t.test('random passwords give 24-byte NT responses that verify', async (t) => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 64, unit: 'binary' }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (password, authChallenge, peerChallenge) => {
        const nt = generateNtResponse(authChallenge, peerChallenge, 'user', password);
        const s = generateAuthenticatorResponse(password, nt, peerChallenge, authChallenge, 'user');
        return (
          nt.length === 24 &&
          nt.equals(generateNtResponse(authChallenge, peerChallenge, 'user', password)) &&
          checkAuthenticatorResponse(password, nt, peerChallenge, authChallenge, 'user', s) &&
          eapMschapv2Msk(password, nt).length === 64
        );
      },
    ),
    { numRuns: 200 },
  );
  t.pass('property held');
});

t.test('wrong-sized inputs are refused', async (t) => {
  const nt = hex(V.ntResponse);
  t.throws(() => challengeHash(V.peerChallenge.subarray(1), V.authenticatorChallenge, 'u'), RangeError);
  t.throws(() => challengeResponse(hex('00'), hex(V.passwordHash)), RangeError);
  t.throws(() => getMasterKey(hex(V.passwordHashHash), nt.subarray(1)), RangeError);
  t.throws(() => getAsymmetricStartKey(Buffer.alloc(15), 16, true, true), RangeError);
});
