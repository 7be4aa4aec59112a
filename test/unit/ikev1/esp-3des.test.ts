// 3DES ESP (ENCR_3DES, RFC 2451: DES-EDE3-CBC, 24-byte key, 8-byte blocks and IV) as IKEv1 Quick
// Mode and IKEv2 negotiate it (issue 19): chosen only when the connection's proposals allow it,
// keyed with the right KEYMAT lengths for each integrity, and warned about in the configuration.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { SiteConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { espSuiteOf } from '../../../firmware/ike/engine/payload-helpers.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { EncrId, IntegId, ProtocolId, TransformType } from '../../../firmware/ike/registry/numbers.ts';
import { espAlgorithms } from '../../../firmware/ikev1/crypto/algorithms.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { AuthAlgorithm, EspTransformId } from '../../../firmware/ikev1/registry.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function v1Pair(overA: Over, overB: Over) {
  const base = { ike: ['aes256-sha256-modp2048'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('a3'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b3'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  pair.run();
  return pair;
}

t.test('IKEv1 Quick Mode: 3DES with SHA1, SHA2-256 and SHA2-384 when the responder allows it, keyed 24 + 20/32/48 bytes', async (t) => {
  for (const [word, suite, integrity] of [['3des-sha1', '3des-cbc-hmac-sha1-96', 20], ['3des-sha256', '3des-cbc-hmac-sha256-128', 32], ['3des-sha384', '3des-cbc-hmac-sha384-192', 48]] as const) {
    const pair = v1Pair({ esp: [word] }, { esp: ['aes256gcm16', word] });
    const a = pair.of('a', 'install-child')[0]?.child;
    const b = pair.of('b', 'install-child')[0]?.child;
    t.equal(a?.suite, suite, `${word}: the initiator installs ${suite}`);
    t.equal(b?.suite, suite, `${word}: and so does the responder`);
    t.same([a?.inbound.encryption.reveal().length, a?.inbound.integrity?.reveal().length], [24, integrity], `${word}: KEYMAT cut as 24-byte key then ${integrity}-byte integrity key`);
    t.equal(a?.outbound.encryption.reveal().toString('hex'), b?.inbound.encryption.reveal().toString('hex'), `${word}: the keys agree crosswise`);
    t.equal(a?.outbound.integrity?.reveal().toString('hex'), b?.inbound.integrity?.reveal().toString('hex'));
  }
});

t.test('IKEv1: a peer offering only 3DES is refused by a connection that does not list it, saying what was offered', async (t) => {
  const pair = v1Pair({ esp: ['3des-sha1'] }, { esp: ['aes128-sha1', 'aes256gcm16'] });
  t.equal(pair.of('b', 'install-child').length, 0, 'no child');
  t.equal(pair.of('a', 'install-child').length, 0);
  t.ok(pair.logs('b').some((l) => /^Quick Mode [0-9a-f]+ with 192\.0\.2\.1 failed: no acceptable ESP proposal for tunnel mode \(offered: ESP_3DES\/HMAC_SHA tunnel; accepted: ENCR_AES_CBC_128\/AUTH_HMAC_SHA1_96\/NO_ESN, ENCR_AES_GCM_16_256\/NO_ESN\) \(connection to-a\)$/.test(l)), pair.logs('b').join('\n'));
  t.ok(pair.logs('a').some((l) => /refused by the peer: NO-PROPOSAL-CHOSEN \(connection to-b\)$/.test(l)), 'the initiator hears why');
});

t.test('IKEv1 ESP transform numbers: 3DES takes no key length but 192, and needs an authentication algorithm the data plane has', async (t) => {
  t.same(espAlgorithms(EspTransformId.ESP_3DES, 0, AuthAlgorithm.HMAC_SHA), { suite: '3des-cbc-hmac-sha1-96', encryptionKeyLength: 24, integrityKeyLength: 20 });
  t.same(espAlgorithms(EspTransformId.ESP_3DES, 192, AuthAlgorithm.HMAC_SHA2_384), { suite: '3des-cbc-hmac-sha384-192', encryptionKeyLength: 24, integrityKeyLength: 48 });
  t.equal(espAlgorithms(EspTransformId.ESP_3DES, 128, AuthAlgorithm.HMAC_SHA), undefined, 'a 128-bit 3DES is no 3DES');
  t.equal(espAlgorithms(EspTransformId.ESP_3DES, 0, AuthAlgorithm.HMAC_MD5), undefined, 'MD5 is not in the data plane');
  t.equal(espAlgorithms(EspTransformId.ESP_3DES, 0, undefined), undefined, 'CBC without integrity is refused');
});

t.test('IKEv2: ENCR_3DES maps onto the same ESP suites, and an IKE SA and child come up with it', async (t) => {
  const proposal = (integ: number) => ({ number: 1, protocolId: ProtocolId.ESP, spi: new Uint8Array(4), transforms: [{ type: TransformType.ENCR, id: EncrId.ENCR_3DES }, { type: TransformType.INTEG, id: integ }] });
  t.equal(espSuiteOf(proposal(IntegId.AUTH_HMAC_SHA1_96)), '3des-cbc-hmac-sha1-96');
  t.equal(espSuiteOf(proposal(IntegId.AUTH_HMAC_SHA2_256_128)), '3des-cbc-hmac-sha256-128');
  t.equal(espSuiteOf(proposal(IntegId.AUTH_HMAC_SHA2_384_192)), '3des-cbc-hmac-sha384-192');
  t.equal(espSuiteOf(proposal(IntegId.AUTH_HMAC_SHA2_512_256)), undefined, 'SHA2-512 is not in the data plane');
  // The IKE SA itself in 3DES too (the SK payload with an 8-byte IV and block, RFC 7296 §3.14).
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, ike: ['3des-sha256-modp2048'], esp: ['3des-sha256'] })], seededCrypto('a2'));
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ike: ['aes256-sha256-modp2048', '3des-sha256-modp2048'], esp: ['aes256gcm16', '3des-sha256'] })], seededCrypto('b2'));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run();
  const child = pair.of('b', 'install-child')[0]?.child;
  t.equal(child?.suite, '3des-cbc-hmac-sha256-128', 'IKEv2 child with 3DES');
  t.same([child?.inbound.encryption.reveal().length, child?.inbound.integrity?.reveal().length], [24, 32]);
  t.equal(a.sas[0]?.crypto?.suite.encr.cipher, 'des-ede3-cbc', 'the IKE SA is 3DES');
  t.equal(pair.of('a', 'ike-up').length, 1, 'IKE_AUTH went through SK payloads in 3DES');
});

t.test('3DES in an IKEv1 site\'s ESP proposals is warned about as weak, like modp1024', async (t) => {
  const c = defaultConfig();
  const site: SiteConfig = {
    name: 'branch', protocol: 'ikev1', remote: '198.51.100.7', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'],
    auth: 'psk', psk: 'branch-psk-0123456789abcdef', initiate: true, enabled: true, proposals: { ike: ['aes256-sha256-modp2048'], esp: ['aes256-sha1', '3des-sha1'] },
  };
  c.sites = [site];
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
  t.ok(r.warnings.some((w) => w.path === 'sites[0].proposals.esp[1]' && w.code === 'weak' && /3DES/.test(w.message)), JSON.stringify(r.warnings));
  t.notOk(r.warnings.some((w) => w.path === 'sites[0].proposals.esp[0]'), 'the strong one is not');
});
