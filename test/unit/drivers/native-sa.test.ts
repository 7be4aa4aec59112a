// The driver's ESP SAs seen from JavaScript: every suite both ways, one known answer through the
// glue, and packets rebuilt independently with node:crypto from the RFCs' descriptions.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import t from 'tap';
import { NativeSa, type NativeSaConfig } from '../../../firmware/dataplane/native.ts';
import { EspSuite } from '../../../firmware/dataplane/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const KEY_BYTES: Record<EspSuite, [number, number]> = {
  'aes-gcm-128': [20, 0], 'aes-gcm-256': [36, 0], 'chacha20-poly1305': [36, 0],
  'aes-cbc-128-hmac-sha1-96': [16, 20], 'aes-cbc-256-hmac-sha1-96': [32, 20],
  'aes-cbc-128-hmac-sha256-128': [16, 32], 'aes-cbc-256-hmac-sha256-128': [32, 32],
  '3des-cbc-hmac-sha1-96': [24, 20], '3des-cbc-hmac-sha256-128': [24, 32], '3des-cbc-hmac-sha384-192': [24, 48],
};

function config(suite: EspSuite, esn = false): NativeSaConfig {
  const [enc, integ] = KEY_BYTES[suite];
  return {
    spi: 0xc0ffee01, suite, esn, replayWindow: 1024,
    encryptionKey: new Secret(Buffer.alloc(enc, 0x11)),
    ...(integ ? { integrityKey: new Secret(Buffer.alloc(integ, 0x22)) } : {}),
  };
}

t.test('every suite round trips through the driver, with and without ESN', async (t) => {
  for (const suite of Object.values(EspSuite)) {
    for (const esn of [false, true]) {
      const tx = NativeSa.create(config(suite, esn));
      const rx = NativeSa.create(config(suite, esn));
      const payload = randomBytes(1 + Math.floor(Math.random() * 1400));
      const sealed = tx.encrypt(payload, 4);
      t.ok(sealed.ok, `${suite} esn=${esn} encrypts`);
      if (!sealed.ok) continue;
      const opened = rx.decrypt(sealed.value);
      t.same(opened.ok && [opened.value.payload.equals(payload), opened.value.nextHeader], [true, 4], `${suite} esn=${esn} decrypts`);
      t.equal(rx.counters().packets, 1n);
    }
  }
});

t.test('draft-mcgrew-gcm-test-01 case 3 through the glue', async (t) => {
  const sa = NativeSa.create({
    spi: 0x4a2cbfe3, suite: 'aes-gcm-256', esn: false, replayWindow: 64,
    encryptionKey: new Secret(Buffer.from('abbccddef00112233445566778899aababbccddef00112233445566778899aab11223344', 'hex')),
  });
  sa.setNextSequence(2n);
  const payload = Buffer.from('4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b401010402', 'hex');
  const r = sa.encrypt(payload, 1, Buffer.from('0102030405060708', 'hex'));
  t.equal(r.ok && r.value.toString('hex'),
    '4a2cbfe3000000020102030405060708ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c4915956c96');
});

t.test('ChaCha20-Poly1305 packets match RFC 7634 §2 built with node:crypto', async (t) => {
  const key = randomBytes(32);
  const salt = randomBytes(4);
  const sa = NativeSa.create({ spi: 0x01020304, suite: 'chacha20-poly1305', esn: false, replayWindow: 64, encryptionKey: new Secret(Buffer.concat([key, salt])) });
  sa.setNextSequence(5n);
  const iv = Buffer.from('1011121314151617', 'hex');
  const payload = Buffer.from('4500005400004000400100000a0000010a000002', 'hex'); // 20 bytes: + 2 trailer = 22 → 2 pad bytes
  const r = sa.encrypt(payload, 4, iv);
  // Independent construction: nonce = salt | IV, AAD = SPI | seq, plaintext = payload | 1 2 | 2 | 4.
  const aad = Buffer.from('0102030400000005', 'hex');
  const cipher = createCipheriv('chacha20-poly1305', key, Buffer.concat([salt, iv]), { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: 24 });
  const ct = Buffer.concat([cipher.update(Buffer.concat([payload, Buffer.from([1, 2, 2, 4])])), cipher.final()]);
  t.equal(r.ok && r.value.toString('hex'), Buffer.concat([aad, iv, ct, cipher.getAuthTag()]).toString('hex'));
});

t.test('RFC 7634 Appendix A: the ESP example, byte for byte both ways', async (t) => {
  const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
  // KEYMAT: the 256-bit key 80..9f, then the salt a0a1a2a3; SPI 0x01020304, sequence 5, IV 1011..17.
  const keymat = hex('808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f a0a1a2a3');
  // The inner packet: an ICMP echo request from 198.51.100.5 to 192.0.2.5 (84 bytes).
  const inner = hex(`4500 0054 a6f2 0000 4001 e778 c633 6405 c000 0205 0800 5b7a 3a08 0000 553b ec10
    0007 3627 0809 0a0b 0c0d 0e0f 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b
    2c2d 2e2f 3031 3233 3435 3637`);
  const esp = hex(`01020304 00000005 1011121314151617
    24039428b97f417e3c13753a4f05087b 67c352e6a7fab1b982d466ef407ae5c6 14ee8099d52844eb61aa95dfab4c02f7
    2aa71e7c4c4f64c9befe2facc638e8f3 cbec163fac469b502773f6fb94e664da 9165b82829f641e0
    76aaa8266b7fb0f7b11b369907e1ad43`);
  const sa = () => NativeSa.create({ spi: 0x01020304, suite: 'chacha20-poly1305', esn: false, replayWindow: 64, encryptionKey: new Secret(keymat) });
  const sender = sa();
  sender.setNextSequence(5n);
  const sealed = sender.encrypt(inner, 4, hex('1011121314151617'));
  t.equal(sealed.ok && sealed.value.toString('hex'), esp.toString('hex'), 'encrypting the example gives the RFC\'s ESP packet');
  const opened = sa().decrypt(esp);
  t.same(opened.ok && [opened.value.payload.toString('hex'), opened.value.nextHeader], [inner.toString('hex'), 4], 'and the RFC\'s packet decrypts to the example (padding 1 2, next header 4)');
  const tampered = Buffer.from(esp);
  tampered[20] = tampered[20]! ^ 1;
  t.same(sa().decrypt(tampered).ok, false, 'one flipped ciphertext bit fails the tag');
});

t.test('AES-CBC + HMAC-SHA-256-128 with ESN: the ICV covers the high sequence bits (RFC 4303 §2.2.1)', async (t) => {
  const enc = randomBytes(16);
  const integ = randomBytes(32);
  const sa = NativeSa.create({ spi: 7, suite: 'aes-cbc-128-hmac-sha256-128', esn: true, replayWindow: 64, encryptionKey: new Secret(enc), integrityKey: new Secret(integ) });
  sa.setNextSequence(0x0000000500000009n);
  const r = sa.encrypt(Buffer.from('payload bytes'), 17);
  if (!r.ok) return t.fail(r.status);
  const packet = r.value;
  t.equal(packet.readUInt32BE(4), 9, 'only the low half is sent');
  const icv = packet.subarray(packet.length - 16);
  const covered = Buffer.concat([packet.subarray(0, packet.length - 16), Buffer.from('00000005', 'hex')]);
  t.equal(icv.toString('hex'), createHmac('sha256', integ).update(covered).digest().subarray(0, 16).toString('hex'));
  const d = createDecipheriv('aes-128-cbc', enc, packet.subarray(8, 24)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(packet.subarray(24, packet.length - 16)), d.final()]);
  t.equal(plain.subarray(0, 13).toString(), 'payload bytes');
  // 13 bytes + 2 trailer bytes pad to one 16-byte block: pad byte 1, pad length 1, next header 17.
  t.same([...plain.subarray(13)], [1, 1, 17], 'padding, pad length and next header');
});

t.test('3DES-CBC (RFC 2451) with each integrity: 8-byte IV and blocks, the ICV truncated per RFC 4868, checked with node:crypto', async (t) => {
  for (const [suite, hash, icvLength] of [['3des-cbc-hmac-sha1-96', 'sha1', 12], ['3des-cbc-hmac-sha256-128', 'sha256', 16], ['3des-cbc-hmac-sha384-192', 'sha384', 24]] as const) {
    const enc = randomBytes(24);
    const integ = randomBytes(KEY_BYTES[suite][1]);
    const sa = NativeSa.create({ spi: 0x3de5, suite, esn: false, replayWindow: 64, encryptionKey: new Secret(enc), integrityKey: new Secret(integ) });
    const r = sa.encrypt(Buffer.from('seventeen bytes!!'), 4);
    if (!r.ok) return t.fail(r.status);
    const packet = r.value;
    const icv = packet.subarray(packet.length - icvLength);
    t.equal(icv.toString('hex'), createHmac(hash, integ).update(packet.subarray(0, packet.length - icvLength)).digest().subarray(0, icvLength).toString('hex'), `${suite}: ICV`);
    const d = createDecipheriv('des-ede3-cbc', enc, packet.subarray(8, 16)).setAutoPadding(false);
    const plain = Buffer.concat([d.update(packet.subarray(16, packet.length - icvLength)), d.final()]);
    // 17 bytes + 2 trailer bytes pad to three 8-byte blocks: pad 1..5, pad length 5, next header 4.
    t.same([plain.subarray(0, 17).toString(), [...plain.subarray(17)]], ['seventeen bytes!!', [1, 2, 3, 4, 5, 5, 4]], `${suite}: payload, padding and trailer`);
  }
  t.throws(() => NativeSa.create({ ...config('3des-cbc-hmac-sha1-96'), encryptionKey: new Secret(Buffer.alloc(16)) }), { code: 'POSTERN_ERR_DATAPLANE_INVALID' }, 'two-key 3DES refused');
});

t.test('malformed input gives a typed status, never a throw', async (t) => {
  const rx = NativeSa.create(config('aes-gcm-128'));
  for (const bad of [Buffer.alloc(0), Buffer.alloc(10), randomBytes(64), Buffer.concat([Buffer.from('c0ffee01', 'hex'), randomBytes(60)])]) {
    const r = rx.decrypt(bad);
    t.notOk(r.ok);
  }
  const c = rx.counters();
  t.equal(c.dropShort + c.dropSpi + c.dropAuth, 4n, 'every drop counted by reason');
  t.throws(() => NativeSa.create({ ...config('aes-gcm-256'), encryptionKey: new Secret(Buffer.alloc(32)) }), { code: 'POSTERN_ERR_DATAPLANE_INVALID' });
});
