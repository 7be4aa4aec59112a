import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import t from 'tap';
import { eapMschapv2Msk, getAsymmetricStartKey, getMasterKey, hashNtPasswordHash, ntPasswordHash } from '../../../firmware/crypto/mschapv2.ts';
import {
  compoundMac,
  compoundMacKey,
  cryptoBindingRequest,
  encodeCallConnected,
  hlakFrom,
  mschapv2ServerHlak,
  verifyCallConnected,
  type CryptoBindingExpectations,
} from '../../../firmware/sstp/crypto-binding.ts';
import { HashProtocol } from '../../../firmware/sstp/packet.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import * as V from './vectors.ts';

const { bytes, toHex } = V;
const expect256: CryptoBindingExpectations = { nonce: V.NONCE_256, certHash256: V.CERT_HASH_256, certHash1: new Uint8Array(20), hlak: V.HLAK_256 };
const expect1: CryptoBindingExpectations = { nonce: V.NONCE_1, certHash256: new Uint8Array(32), certHash1: V.CERT_HASH_1, hlak: V.HLAK_1 };

t.test('[MS-SSTP] §4.7 SHA-256 example: the Compound MAC is reproduced and verifies', async (t) => {
  t.equal(toHex(compoundMac(HashProtocol.SHA256, V.HLAK_256, V.CALL_CONNECTED_256)), toHex(V.MAC_256));
  t.same(verifyCallConnected(V.CALL_CONNECTED_256, expect256), { ok: true, hashProtocol: HashProtocol.SHA256 });
  const rebuilt = encodeCallConnected({ hashProtocol: HashProtocol.SHA256, nonce: V.NONCE_256, certHash: V.CERT_HASH_256, hlak: V.HLAK_256 });
  t.equal(toHex(rebuilt), toHex(V.CALL_CONNECTED_256), 'the client side builds the same 112 bytes');
});

t.test('[MS-SSTP] §4.7 SHA-1 example: 20-byte hash and MAC, padded', async (t) => {
  t.equal(toHex(compoundMac(HashProtocol.SHA1, V.HLAK_1, V.CALL_CONNECTED_1)), toHex(V.MAC_1));
  t.same(verifyCallConnected(V.CALL_CONNECTED_1, expect1), { ok: true, hashProtocol: HashProtocol.SHA1 });
  t.equal(toHex(encodeCallConnected({ hashProtocol: HashProtocol.SHA1, nonce: V.NONCE_1, certHash: V.CERT_HASH_1, hlak: V.HLAK_1 })), toHex(V.CALL_CONNECTED_1));
});

t.test('a fixed HLAK, nonce and certificate: the MAC matches one derived by hand from the spec text', async (t) => {
  const hlak = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const cert = Buffer.from('a DER certificate would be here', 'ascii');
  for (const [hp, alg, len] of [
    [HashProtocol.SHA256, 'sha256', 32],
    [HashProtocol.SHA1, 'sha1', 20],
  ] as const) {
    const certHash = createHash(alg).update(cert).digest();
    // §3.2.5.2.2 / §3.2.5.2.4: CMK = T1 = HMAC(HLAK, "SSTP inner method derived CMK" | LEN (2 bytes LE) | 0x01).
    const seed = Buffer.concat([Buffer.from('SSTP inner method derived CMK', 'ascii'), Buffer.from([len, 0x00, 0x01])]);
    const cmk = createHmac(alg, hlak).update(seed).digest();
    // §2.2.11: the 112-byte Call Connected, written out with the Compound MAC field zeroed (§3.2.5.2.1, §3.2.5.2.3).
    const padding = Buffer.alloc(32 - len);
    const message = Buffer.concat([Buffer.from([0x10, 0x01, 0x00, 0x70, 0x00, 0x04, 0x00, 0x01, 0x00, 0x03, 0x00, 0x68, 0x00, 0x00, 0x00, hp]), nonce, certHash, padding, Buffer.alloc(32)]);
    t.equal(message.length, 112);
    const mac = createHmac(alg, cmk).update(message).digest();
    t.equal(toHex(compoundMacKey(hp, hlak)), toHex(cmk), `${alg}: CMK`);
    const built = encodeCallConnected({ hashProtocol: hp, nonce, certHash, hlak });
    t.equal(toHex(built), toHex(Buffer.concat([message.subarray(0, 80), mac, padding])), `${alg}: Call Connected with the MAC in place`);
    const expectations = { nonce, certHash256: createHash('sha256').update(cert).digest(), certHash1: createHash('sha1').update(cert).digest(), hlak: new Secret(hlak) };
    t.same(verifyCallConnected(built, expectations), { ok: true, hashProtocol: hp });
  }
});

t.test('each wrong field gets its own error code', async (t) => {
  const code = (packet: Uint8Array, expect: CryptoBindingExpectations = expect256) => {
    const v = verifyCallConnected(packet, expect);
    return v.ok ? 'ok' : v.error;
  };
  const flip = (at: number) => {
    const copy = Uint8Array.from(V.CALL_CONNECTED_256);
    copy[at] = (copy[at] ?? 0) ^ 0x01;
    return copy;
  };
  t.equal(code(flip(16)), 'bad-nonce');
  t.equal(code(flip(48)), 'bad-cert-hash');
  t.equal(code(flip(111)), 'bad-compound-mac');
  t.equal(code(V.CALL_CONNECTED_256, { ...expect256, hlak: hlakFrom() }), 'bad-compound-mac', 'another HLAK');
  t.equal(code(V.CALL_CONNECTED_256, { ...expect256, hashProtocols: HashProtocol.SHA1 }), 'unsupported-hash', 'SHA-256 not offered');
  t.equal(code(flip(15)), 'unsupported-hash', 'Hash Protocol 3');
  t.equal(code(V.CALL_CONNECTED_1, { nonce: V.NONCE_1, certHash256: V.CERT_HASH_256, hlak: V.HLAK_1 }), 'unsupported-hash', 'no SHA-1 certificate hash to compare');
  t.equal(code(V.CALL_CONNECTED_256.subarray(0, 111)), 'malformed', 'truncated');
  t.equal(code(V.CALL_CONNECT_REQUEST), 'malformed', 'another message');
  t.equal(code(flip(9)), 'malformed', 'a Status Info in place of the Crypto Binding');
  const long = Buffer.concat([V.CALL_CONNECTED_256, Uint8Array.of(0)]);
  long[3] = 0x71;
  t.equal(code(long), 'malformed', 'Length 113');
  t.equal(code(Uint8Array.from(V.CALL_CONNECTED_1).fill(0xee, 68, 80), expect1), 'ok', 'Padding after the SHA-1 Cert Hash is ignored on receipt');
  t.equal(code(Uint8Array.from(V.CALL_CONNECTED_1).fill(0xee, 100, 112), expect1), 'ok', 'so is Padding1 after the MAC');
});

t.test('the MS-CHAPv2 server HLAK is MasterReceiveKey | MasterSendKey, equal to the client\'s send | receive', async (t) => {
  // RFC 2759 §9.2 / RFC 3079 §3.5 example.
  const nt = bytes('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
  const passwordHashHash = hashNtPasswordHash(ntPasswordHash('clientPass'));
  const hlak = mschapv2ServerHlak(passwordHashHash, nt).reveal();
  const masterKey = getMasterKey(passwordHashHash, nt);
  const key = (isSend: boolean, isServer: boolean) => getAsymmetricStartKey(masterKey, 16, isSend, isServer);
  t.equal(hlak.length, 32);
  t.equal(toHex(hlak.subarray(16)), toHex(bytes('8B7CDC149B993A1BA118CB153F56DCCB')), 'second half: RFC 3079 §3.5.3 SendStartKey128, the server\'s send key');
  t.equal(toHex(hlak), toHex(Buffer.concat([key(false, true), key(true, true)])), 'server: receive | send');
  t.equal(toHex(hlak), toHex(Buffer.concat([key(true, false), key(false, false)])), 'client: send | receive, the same bytes');
  t.equal(toHex(hlak), toHex(eapMschapv2Msk('clientPass', nt).subarray(0, 32)), 'first 32 bytes of the EAP-MSCHAPv2 MSK');
  t.equal(inspect(mschapv2ServerHlak(passwordHashHash, nt)), '<redacted>');
});

t.test('HLAK sizing (§3.2.5.2.2) and the Crypto Binding Request attribute', async (t) => {
  t.equal(toHex(hlakFrom().reveal()), toHex(new Uint8Array(32)), 'no keys: 32 zero bytes');
  t.equal(toHex(hlakFrom(Uint8Array.of(1, 2)).reveal()), toHex(Uint8Array.from({ length: 32 }, (_, i) => (i < 2 ? i + 1 : 0))), 'short: zero-padded');
  t.equal(toHex(hlakFrom(new Uint8Array(64).fill(7)).reveal()), toHex(new Uint8Array(32).fill(7)), 'long (an MSK): first 32');
  const attr = cryptoBindingRequest(V.NONCE_256, HashProtocol.SHA1 | HashProtocol.SHA256);
  t.equal(attr.attributeId, 4);
  t.equal(toHex(attr.value.subarray(0, 4)), '00 00 00 03');
  t.throws(() => cryptoBindingRequest(V.NONCE_256, 0), RangeError);
  t.throws(() => cryptoBindingRequest(V.NONCE_256, 4), RangeError);
  t.throws(() => cryptoBindingRequest(new Uint8Array(31), 2), RangeError);
});
