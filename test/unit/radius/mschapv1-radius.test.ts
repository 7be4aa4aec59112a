// MS-CHAPv1 through RADIUS (RFC 2548): MS-CHAP-Challenge (8 octets) and MS-CHAP-Response (Ident,
// Flags 1 = use NT, LM zeros, NT-Response) byte for byte; MS-CHAP-MPPE-Keys (§2.4.1, hidden as
// User-Password: checked here with node:crypto's MD5 directly) read from a real reply; the verdicts:
// Accept with the NT-Key (the start key the NAS derives equals the local one, RFC 3079 §2.3) or with
// MS-MPPE-Send/Recv-Key, MS-CHAP-Error's number on a Reject, no server; radius-then-local; fuzzing.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { localPasswordVerifier, passwordVerifierFor, radiusPasswordVerifier } from '../../../firmware/auth/password-verifier.ts';
import { mschapv1StartKeyOf, ntChallengeResponse } from '../../../firmware/crypto/mschapv1.ts';
import { hashNtPasswordHash, ntPasswordHash } from '../../../firmware/crypto/mschapv2.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { Attr, textAttr } from '../../../firmware/radius/attributes.ts';
import { decryptChapMppeKeys, encryptChapMppeKeys } from '../../../firmware/radius/chap-mppe-keys.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import { decodeMsChapResponse, MsAttr, readMicrosoftReply, VENDOR_MICROSOFT, type MicrosoftReply } from '../../../firmware/radius/microsoft.ts';
import { mschapv1Attributes } from '../../../firmware/radius/mschapv1-radius.ts';
import { Code, type RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { encryptSaltedKey } from '../../../firmware/radius/salted-key.ts';
import { decodeVendorSpecific, encodeVendorAttribute } from '../../../firmware/radius/vendor-specific.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
const md5 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();
const CHALLENGE = Buffer.from('102db5df085d3041', 'hex');
const PASSWORD = 'Carol-Pass-1';
const SECRET = new Secret<Uint8Array>(Buffer.from('xyzzy5461'));
const RA = Buffer.alloc(16, 0x5a);
const attempt = (password = PASSWORD, userName = 'carol') => ({ method: 'mschapv1' as const, userName, identifier: 0x2a, challenge: CHALLENGE, ntResponse: ntChallengeResponse(CHALLENGE, password) });
const answer = (outcome: 'accept' | 'reject', microsoft: MicrosoftReply): RadiusResult => ({ outcome, server: 'hq', packet: { code: outcome === 'accept' ? Code.AccessAccept : Code.AccessReject, identifier: 0, authenticator: new Uint8Array(16), attributes: [] }, microsoft });
const saying = (result: RadiusResult) => {
  const seen: Array<readonly RadiusAttribute[]> = [];
  return { seen, client: { authenticate: async (attributes: readonly RadiusAttribute[]) => (seen.push(attributes), result) } };
};
const vsa = (a: RadiusAttribute) => {
  const d = decodeVendorSpecific(a.value);
  return d.ok ? d.value[0] : undefined;
};

t.test('the Access-Request: User-Name, MS-CHAP-Challenge (8), MS-CHAP-Response (Ident, use NT, no LM response)', async (t) => {
  const [user, challenge, response] = mschapv1Attributes(attempt());
  t.same([user?.type, textAttr(Attr.UserName, 'carol').value], [Attr.UserName, user?.value]);
  t.match(vsa(challenge!), { vendorId: VENDOR_MICROSOFT, vendorType: MsAttr.MsChapChallenge });
  t.equal(hex(vsa(challenge!)?.value), '102db5df085d3041');
  t.match(vsa(response!), { vendorId: VENDOR_MICROSOFT, vendorType: MsAttr.MsChapResponse });
  t.equal(hex(vsa(response!)?.value), `2a01${'00'.repeat(24)}${hex(ntChallengeResponse(CHALLENGE, PASSWORD))}`, 'Ident 0x2a, Flags 1, LM-Response zeros, NT-Response');
  t.match(decodeMsChapResponse(vsa(response!)!.value), { ok: true, value: { ident: 0x2a, useNt: true } });
  t.match(decodeMsChapResponse(new Uint8Array(49)), { ok: false });
});

t.test('MS-CHAP-MPPE-Keys: hidden as User-Password (b1 = MD5(S + RA), b2 = MD5(S + c1)), NT-Key at octets 8..24', async (t) => {
  const ntKey = hashNtPasswordHash(ntPasswordHash(PASSWORD));
  const value = encryptChapMppeKeys(ntKey, SECRET, RA);
  const plain = Buffer.concat([Buffer.alloc(8), ntKey, Buffer.alloc(8)]);
  const b1 = md5(SECRET.reveal(), RA);
  const c1 = Buffer.from(plain.subarray(0, 16).map((x, i) => x ^ b1[i]!));
  const b2 = md5(SECRET.reveal(), c1);
  const c2 = Buffer.from(plain.subarray(16, 32).map((x, i) => x ^ b2[i]!));
  t.equal(hex(value), hex(Buffer.concat([c1, c2])), 'the ciphertext, computed independently');
  const back = decryptChapMppeKeys(value, SECRET, RA);
  t.equal(back.ok ? hex(back.value.reveal()) : 'failed', hex(ntKey));
  t.match(decryptChapMppeKeys(value.subarray(0, 24), SECRET, RA), { ok: false, error: { code: 'INVALID_SYNTAX' } });
  const reply = readMicrosoftReply([encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapMppeKeys, value)], SECRET, RA);
  t.equal(hex(reply.chapNtKey?.reveal()), hex(ntKey), 'read from a reply');
  t.equal(readMicrosoftReply([encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapMppeKeys, value.subarray(0, 16))], SECRET, RA).malformed, 1, 'a short one is counted, not used');
});

t.test('verdicts: the NT-Key gives the same start key as the local users; Send/Recv keys as sent; errors and silence', async (t) => {
  const nas = [textAttr(Attr.NasIdentifier, 'gw')];
  const ntKey = new Secret(Uint8Array.from(hashNtPasswordHash(ntPasswordHash(PASSWORD))));
  const accept = saying(answer('accept', { malformed: 0, chapNtKey: ntKey }));
  const v = await radiusPasswordVerifier(accept.client, nas).verify(attempt());
  const local = await localPasswordVerifier((n) => (n === 'carol' ? credentialFromPassword(PASSWORD) : undefined)).verify(attempt());
  t.match(v, { ok: true, user: 'carol', source: 'radius', authorization: { server: 'hq' } });
  const key = v.ok ? v.mppe : undefined;
  t.equal(hex(key?.send.reveal()), hex(mschapv1StartKeyOf(PASSWORD, CHALLENGE)), 'the start key from the NT-Key and our challenge (RFC 3079 §2.3)');
  t.equal(hex(key?.receive.reveal()), hex(key?.send.reveal()), 'the same both ways');
  t.equal(hex(local.ok ? local.mppe?.send.reveal() : undefined), hex(key?.send.reveal()), 'what the local users give');
  t.same(accept.seen[0]?.map((a) => a.type), [Attr.UserName, Attr.VendorSpecific, Attr.VendorSpecific, Attr.NasIdentifier], 'User-Name, the two Microsoft attributes, the NAS attributes');

  const send = new Secret(Uint8Array.from(Buffer.alloc(16, 1)));
  const recv = new Secret(Uint8Array.from(Buffer.alloc(16, 2)));
  const two = await radiusPasswordVerifier(saying(answer('accept', { malformed: 0, sendKey: send, recvKey: recv })).client, nas).verify(attempt());
  t.same(two.ok ? [hex(two.mppe?.send.reveal()), hex(two.mppe?.receive.reveal())] : [], [hex(send.reveal()), hex(recv.reveal())], 'MS-MPPE-Send/Recv-Key from a server that sends those');
  const bare = await radiusPasswordVerifier(saying(answer('accept', { malformed: 0 })).client, nas).verify(attempt());
  t.match(bare, { ok: true }, 'an Accept without keys is still an Accept');
  t.equal(bare.ok ? bare.mppe : 'x', undefined, 'with no MPPE keys');

  t.match(await radiusPasswordVerifier(saying(answer('reject', { malformed: 0, error: { ident: 0x2a, text: 'E=649 R=0' } })).client, nas).verify(attempt()), { ok: false, source: 'radius', error: 649, noServer: false, reason: 'hq: reject' }, 'MS-CHAP-Error E=649');
  t.match(await radiusPasswordVerifier(saying(answer('reject', { malformed: 0, error: { ident: 0x2a, text: 'E=691 R=1' } })).client, nas).verify(attempt()), { ok: false, error: 691 }, 'FreeRADIUS\'s "E=691 R=1"');
  t.match(await radiusPasswordVerifier(saying(answer('reject', { malformed: 0 })).client, nas).verify(attempt()), { ok: false, error: 691 }, '691 without MS-CHAP-Error');
  const silent = saying({ outcome: 'timeout', tried: ['hq'] });
  t.match(await radiusPasswordVerifier(silent.client, nas).verify(attempt()), { ok: false, noServer: true });
  const fallback = await passwordVerifierFor('radius-then-local', { local: localPasswordVerifier((n) => (n === 'carol' ? credentialFromPassword(PASSWORD) : undefined)), radius: radiusPasswordVerifier(silent.client, nas) }).verify(attempt());
  t.match(fallback, { ok: true, source: 'local' }, 'radius-then-local: the local users when no server answered');
});

t.test('the MS-CHAPv1 RADIUS decoders never throw on random input, and count what they cannot read', async (t) => {
  let malformed = 0;
  let runs = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes, ra) => {
    runs++;
    decodeMsChapResponse(bytes);
    decryptChapMppeKeys(bytes, SECRET, ra);
    malformed += readMicrosoftReply([encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapMppeKeys, bytes.subarray(0, 247))], SECRET, ra).malformed;
  }), { numRuns: 1000 });
  t.equal(runs, 1000);
  t.ok(malformed > 900, `malformed MS-CHAP-MPPE-Keys counted (${malformed} of ${runs})`);
  // Keep the salted keys' decoder honest beside it: an MS-MPPE key of the right shape still reads.
  t.equal(readMicrosoftReply([encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsMppeSendKey, encryptSaltedKey(Buffer.alloc(16, 9), 1, SECRET, RA))], SECRET, RA).malformed, 0);
});
