// RADIUS decoders under fast-check: generated packets round trip; random bytes and mutated valid
// packets never throw out of any decoder (packet, Vendor-Specific, Microsoft reply, EAP-Message,
// salted keys, User-Password, response checks) and are refused with a code or read consistently.
import fc from 'fast-check';
import t from 'tap';
import { checkResponse, signResponse } from '../../../firmware/radius/authenticators.ts';
import { reassembleEapMessage } from '../../../firmware/radius/eap-message.ts';
import { decodeMsChap2Response, decodeMsChapMessage, parseMsChapError, readMicrosoftReply } from '../../../firmware/radius/microsoft.ts';
import { decodeRadiusPacket, encodeRadiusPacket, type RadiusPacket } from '../../../firmware/radius/packet.ts';
import { decryptSaltedKey } from '../../../firmware/radius/salted-key.ts';
import { unhideUserPassword } from '../../../firmware/radius/user-password.ts';
import { decodeVendorSpecific } from '../../../firmware/radius/vendor-specific.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const secret = new Secret<Uint8Array>(Buffer.from('fuzz'));
const attribute = fc.record({ type: fc.nat(255), value: fc.uint8Array({ maxLength: 60 }) });
const packet: fc.Arbitrary<RadiusPacket> = fc.record({
  code: fc.nat(255),
  identifier: fc.nat(255),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  attributes: fc.array(attribute, { maxLength: 20 }),
});

/** Every reader a response goes through in the client; none may throw. */
function readEverything(bytes: Uint8Array): void {
  const d = decodeRadiusPacket(bytes);
  if (!d.ok) return;
  checkResponse(bytes, new Uint8Array(16), secret);
  readMicrosoftReply(d.value.attributes, secret, new Uint8Array(16));
  reassembleEapMessage(d.value.attributes);
  for (const a of d.value.attributes) {
    const v = decodeVendorSpecific(a.value);
    if (v.ok) for (const s of v.value) { decodeMsChap2Response(s.value); const m = decodeMsChapMessage(s.value); if (m.ok) parseMsChapError(m.value.text); }
    decryptSaltedKey(a.value, secret, new Uint8Array(16));
    unhideUserPassword(a.value, secret, new Uint8Array(16));
  }
}

t.test('property: packets round trip', async (t) => {
  fc.assert(fc.property(packet, (p) => {
    const bytes = encodeRadiusPacket(p);
    const d = decodeRadiusPacket(bytes);
    return d.ok && Buffer.from(encodeRadiusPacket(d.value)).equals(Buffer.from(bytes)) && d.value.attributes.length === p.attributes.length;
  }), { numRuns: 500 });
  t.pass('500 packets');
});

t.test('property: random bytes never throw', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => { readEverything(bytes); }), { numRuns: 2000 });
  t.pass('2000 inputs');
});

t.test('property: mutated signed responses never throw and never check as ok', async (t) => {
  const ra = new Uint8Array(16);
  fc.assert(fc.property(fc.array(attribute, { maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (attrs, flips) => {
    const good = signResponse(2, 1, attrs, ra, secret);
    const bad = Uint8Array.from(good);
    for (const [at, x] of flips) bad[at % bad.length] = bad[at % bad.length]! ^ (x || 1);
    readEverything(bad);
    const d = decodeRadiusPacket(bad);
    return !d.ok || Buffer.from(bad).equals(Buffer.from(good)) || checkResponse(bad, ra, secret) !== 'ok';
  }), { numRuns: 1000 });
  t.pass('1000 mutations');
});
