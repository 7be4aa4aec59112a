import { createHash, timingSafeEqual } from 'node:crypto';
import { Secret } from '../util/secret.ts';
import { desEncryptBlock7 } from './des.ts';
import { md4 } from './md4.ts';

/**
 * MS-CHAPv2 (RFC 2759 §8) and the MPPE keys derived from it (RFC 3079 §3), shared by PPP
 * (CHAP algorithm 0x81, MPPE) and IKEv2 EAP-MSCHAPv2. Pure functions; nothing here logs.
 * Passwords may be given as a `Secret` so that they print as `<redacted>` on their way here.
 */
export type Password = string | Secret<string> | NtHashed;

/**
 * A password known only by its NtPasswordHash (§8.3): every computation here starts from that hash,
 * so a gateway need not keep the password itself (issue 15.11).
 */
export interface NtHashed {
  readonly ntHash: Secret<Uint8Array>;
}

/** RFC 3079 §3.1-§3.3: MPPE start keys are 8 bytes (40- and 56-bit keys) or 16 (128-bit). */
export type MppeKeyLength = 8 | 16;

const ascii = (text: string) => Buffer.from(text, 'ascii');
const sha1 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

function expectLength(name: string, value: Uint8Array, length: number): void {
  if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
}

/**
 * RFC 2759 §8.2: ChallengeHash uses "only the user name ... excluding any prepended domain
 * name", so "DOMAIN\user" counts as "user". Like strongSwan and hostapd, everything after the
 * first backslash is the user name.
 */
export function mschapUserName(name: string): string {
  const slash = name.indexOf('\\');
  return slash < 0 ? name : name.slice(slash + 1);
}

/** RFC 2759 §8.3 NtPasswordHash(): MD4 of the password in Unicode (UTF-16LE). */
export function ntPasswordHash(password: Password): Buffer {
  if (typeof password === 'object' && 'ntHash' in password) {
    const hash = Buffer.from(password.ntHash.reveal());
    expectLength('PasswordHash', hash, 16);
    return hash;
  }
  const text = typeof password === 'string' ? password : password.reveal();
  return md4(Buffer.from(text, 'utf16le'));
}

/** RFC 2759 §8.4 HashNtPasswordHash(): MD4 of the NT password hash. */
export function hashNtPasswordHash(passwordHash: Uint8Array): Buffer {
  expectLength('PasswordHash', passwordHash, 16);
  return md4(passwordHash);
}

/**
 * RFC 2759 §8.2 ChallengeHash(): the first 8 bytes of SHA1(PeerChallenge | AuthenticatorChallenge
 * | UserName), the domain prefix removed from the user name here (see `mschapUserName`).
 */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, username: string): Buffer {
  expectLength('PeerChallenge', peerChallenge, 16);
  expectLength('AuthenticatorChallenge', authenticatorChallenge, 16);
  return sha1(peerChallenge, authenticatorChallenge, Buffer.from(mschapUserName(username), 'utf8')).subarray(0, 8);
}

/**
 * RFC 2759 §8.5 ChallengeResponse(): the password hash, zero-padded to 21 bytes, gives three
 * 7-byte DES keys; the 24-byte response is the challenge encrypted under each in turn.
 */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Buffer {
  expectLength('Challenge', challenge, 8);
  expectLength('PasswordHash', passwordHash, 16);
  const zPasswordHash = Buffer.alloc(21);
  zPasswordHash.set(passwordHash);
  return Buffer.concat([0, 7, 14].map((at) => desEncryptBlock7(zPasswordHash.subarray(at, at + 7), challenge)));
}

/** RFC 2759 §8.1 GenerateNTResponse(): the 24-byte NT-Response field of the Response packet. */
export function generateNtResponse(authenticatorChallenge: Uint8Array, peerChallenge: Uint8Array, username: string, password: Password): Buffer {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, username), ntPasswordHash(password));
}

// RFC 2759 §8.7: the two constants of GenerateAuthenticatorResponse().
const AUTH_MAGIC1 = ascii('Magic server to client signing constant');
const AUTH_MAGIC2 = ascii('Pad to make it do more than one iteration');

function authenticatorDigest(password: Password, ntResponse: Uint8Array, peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, username: string): Buffer {
  expectLength('NT-Response', ntResponse, 24);
  const passwordHashHash = hashNtPasswordHash(ntPasswordHash(password));
  const digest = sha1(passwordHashHash, ntResponse, AUTH_MAGIC1);
  return sha1(digest, challengeHash(peerChallenge, authenticatorChallenge, username), AUTH_MAGIC2);
}

/**
 * RFC 2759 §8.7 GenerateAuthenticatorResponse(): the "S=" string of the Success packet, 40
 * upper-case hex digits, by which the authenticator proves it knows the password too.
 */
export function generateAuthenticatorResponse(password: Password, ntResponse: Uint8Array, peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, username: string): string {
  return `S=${authenticatorDigest(password, ntResponse, peerChallenge, authenticatorChallenge, username).toString('hex').toUpperCase()}`;
}

/**
 * RFC 2759 §8.8 CheckAuthenticatorResponse(): whether `received` (the 42-character "S=" part of
 * the Success message) is right. Hex case is not held against the peer; the compare is constant-time.
 */
export function checkAuthenticatorResponse(password: Password, ntResponse: Uint8Array, peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, username: string, received: string): boolean {
  if (!/^S=[0-9A-Fa-f]{40}$/.test(received)) return false;
  const expected = authenticatorDigest(password, ntResponse, peerChallenge, authenticatorChallenge, username);
  return timingSafeEqual(Buffer.from(received.slice(2), 'hex'), expected);
}

// RFC 3079 §3.4: the constants of GetMasterKey() and GetAsymmetricStartKey().
const MASTER_MAGIC1 = ascii('This is the MPPE Master Key');
const MASTER_MAGIC2 = ascii('On the client side, this is the send key; on the server side, it is the receive key.');
const MASTER_MAGIC3 = ascii('On the client side, this is the receive key; on the server side, it is the send key.');
const SHS_PAD1 = Buffer.alloc(40, 0x00);
const SHS_PAD2 = Buffer.alloc(40, 0xf2);

/** RFC 3079 §3.4 GetMasterKey(): the first 16 bytes of SHA1(PasswordHashHash | NT-Response | Magic1). */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Buffer {
  expectLength('PasswordHashHash', passwordHashHash, 16);
  expectLength('NT-Response', ntResponse, 24);
  return sha1(passwordHashHash, ntResponse, MASTER_MAGIC1).subarray(0, 16);
}

/**
 * RFC 3079 §3.4 GetAsymmetricStartKey(): the first `keyLength` bytes of
 * SHA1(MasterKey | SHSpad1 | s | SHSpad2). `s` is Magic2 for the client's send key and the
 * server's receive key, Magic3 for the other two, so one side's send key is the other's receive key.
 */
export function getAsymmetricStartKey(masterKey: Uint8Array, keyLength: MppeKeyLength, isSend: boolean, isServer: boolean): Buffer {
  expectLength('MasterKey', masterKey, 16);
  const magic = isSend === isServer ? MASTER_MAGIC3 : MASTER_MAGIC2;
  return sha1(masterKey, SHS_PAD1, magic, SHS_PAD2).subarray(0, keyLength);
}

/**
 * The 64-byte EAP-MSCHAPv2 MSK (RFC 3748 §7.10 asks for at least 64 bytes), which IKEv2 uses as
 * the shared key of its AUTH payloads (RFC 7296 §2.16):
 *
 *   MSK = MasterReceiveKey (16) | MasterSendKey (16) | 32 zero bytes
 *
 * both start keys 128-bit and named from the server's side: MasterReceiveKey is
 * GetAsymmetricStartKey(MasterKey, 16, isSend = FALSE, isServer = TRUE) (Magic2), MasterSendKey
 * is (isSend = TRUE, isServer = TRUE) (Magic3). Peer and server compute the same bytes.
 * Sources: [MS-CHAP] "Key Management" (learn.microsoft.com/openspecs/windows_protocols/ms-chap,
 * page 5a860bf5-2aeb-485b-82ee-fac1e8e6b76f): "MSK = MasterReceiveKey + MasterSendKey + 32 bytes
 * zeroes (padding)"; strongSwan src/libcharon/plugins/eap_mschapv2/eap_mschapv2.c GenerateMSK()
 * (commit b12c53ce77be): chunk_cat of master_receive_key (Magic2, 16 bytes), master_send_key
 * (Magic3, 16 bytes) and two 16-byte zero keypads. hostapd's peer exports only the first 32
 * bytes; as an HMAC key (RFC 2104 pads keys with zeros to the block size) that is the same key.
 */
export function eapMschapv2Msk(password: Password, ntResponse: Uint8Array): Buffer {
  const masterKey = getMasterKey(hashNtPasswordHash(ntPasswordHash(password)), ntResponse);
  return Buffer.concat([
    getAsymmetricStartKey(masterKey, 16, false, true),
    getAsymmetricStartKey(masterKey, 16, true, true),
    Buffer.alloc(32),
  ]);
}
