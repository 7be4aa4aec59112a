// The doctor against the IKEv1 engine's real log lines (issue 19): two engines back to back on a
// simulated clock, each failure classified once, so a reworded engine message shows up here and not
// in the field.
import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

/** Site hq on A dials site branch on B; both PSK Main Mode unless told otherwise. */
function sitePair(overA: Partial<IkeConnection> = {}, overB: Partial<IkeConnection> = {}): Ikev1Pair {
  const base = { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('site:hq', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('site:branch', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('site:hq', { address: A, port: 500 }, 0));
  pair.run();
  return pair;
}

function problems(pair: Ikev1Pair, side: 'a' | 'b') {
  return pair.of(side, 'log').flatMap((l) => {
    const p = classify({ kind: 'ike-log', level: l.level, msg: l.msg, ...(l.fields ? { fields: l.fields } : {}) });
    return p ? [p] : [];
  });
}

const aggressive = { aggressive: true, localId: 'hq.example' };
const allowsAggressive = { aggressive: true, remoteId: 'hq.example' };

t.test('working Main Mode and Aggressive Mode record nothing (the Aggressive Mode warning is no failure)', async (t) => {
  for (const [overA, overB] of [[{}, {}], [aggressive, allowsAggressive]] as const) {
    const pair = sitePair(overA, overB);
    t.equal(pair.of('a', 'install-child').length, 1, 'the child is up');
    t.same([...problems(pair, 'a'), ...problems(pair, 'b')], []);
  }
});

t.test('a wrong PSK in Main Mode: one psk-mismatch for the site, at the first message that does not decrypt', async (t) => {
  const pair = sitePair({}, { psk: new Secret('another key entirely') });
  const found = problems(pair, 'b');
  t.equal(found.length, 1, JSON.stringify(pair.logs('b')));
  t.match(found[0], { protocol: 'ikev1', cause: 'psk-mismatch', stage: 'ike-auth', site: 'branch', source: A, detail: /the pre-shared keys differ/ });
  // The line the engine writes when it gives up on the same SA is not counted again.
  t.equal(classify({ kind: 'ike-log', level: 'warn', msg: `site:branch with ${A}: Main Mode message 5 did not decrypt 6 times: the pre-shared keys differ` }), undefined);
});

t.test('a wrong PSK in Aggressive Mode: the initiator finds HASH_R wrong', async (t) => {
  const pair = sitePair(aggressive, { ...allowsAggressive, psk: new Secret('another key entirely') });
  t.match(problems(pair, 'a'), [{ protocol: 'ikev1', cause: 'psk-mismatch', stage: 'ike-auth', site: 'hq', source: B, detail: /HASH_R does not match/ }]);
});

t.test('no proposal chosen in Main Mode and in Aggressive Mode: a proposal mismatch naming what was offered', async (t) => {
  const ike = { ike: ['aes128-sha1-modp2048'] } as Partial<IkeConnection>;
  const theirs = { ike: ['aes256-sha256-modp4096'] } as Partial<IkeConnection>;
  for (const [mode, overA, overB] of [['Main', ike, theirs], ['Aggressive', { ...ike, ...aggressive }, { ...theirs, ...allowsAggressive }]] as const) {
    const found = problems(sitePair(overA, overB), 'b');
    t.ok(found.length >= 1, `${mode} Mode refused`);
    t.match(found[0], { protocol: 'ikev1', cause: 'ike-proposal-mismatch', stage: 'ike-init', source: A, detail: new RegExp(`^${mode} Mode from ${A} refused with NO-PROPOSAL-CHOSEN: .*offered: AES_CBC-128/SHA/PRE_SHARED_KEY/MODP_2048; accepted: `) });
  }
});

t.test('Main Mode from an address no site names: unknown-peer-address', async (t) => {
  const found = problems(sitePair({}, { remoteAddress: '192.0.2.99' }), 'b');
  t.match(found, [{ protocol: 'ikev1', cause: 'unknown-peer-address', stage: 'ike-init', source: A }]);
});

t.test('Aggressive Mode asked for where the site does not enable it: aggressive-mode-disabled, with the ID', async (t) => {
  const found = problems(sitePair(aggressive, {}), 'b');
  t.ok(found.length >= 1);
  t.match(found[0], { protocol: 'ikev1', cause: 'aggressive-mode-disabled', stage: 'ike-init', source: A, peer: 'hq.example', fix: /Aggressive Mode on the IKEv1 site/ });
});

t.test('the peer sends another ID than expected: peer-id-mismatch, with the ID it sent', async (t) => {
  const found = problems(sitePair({ localId: 'hq.example' }, {}), 'b');
  t.match(found, [{ protocol: 'ikev1', cause: 'peer-id-mismatch', stage: 'ike-auth', site: 'branch', source: A, peer: 'hq.example', detail: /is not the expected 192\.0\.2\.1/ }]);
});

t.test('a certificate from a CA not trusted: untrusted-certificate for the site', async (t) => {
  const ca = testCa('IKEv1 Doctor CA', 'rsa-2048');
  const other = testCa('Other CA', 'rsa-2048');
  const idA = identity(ca, 'a.example', ['a.example'], 'rsa-2048');
  const idB = identity(ca, 'b.example', ['b.example'], 'rsa-2048');
  const cert = { peerAuth: 'certificate' as const };
  const pair = sitePair({ ...idA.auth, ...cert, trustedCas: [der(ca.certificatePem)], localId: 'a.example', remoteId: 'b.example' },
    { ...idB.auth, ...cert, trustedCas: [der(other.certificatePem)], localId: 'b.example', remoteId: 'a.example' });
  t.match(problems(pair, 'b'), [{ protocol: 'ikev1', cause: 'untrusted-certificate', stage: 'ike-auth', site: 'branch', source: A, detail: /certificate refused: .*is not signed by a trusted CA/ }]);
});

t.test('Quick Mode: no ESP proposal in common is child-proposal-mismatch on both ends, the responder naming what was offered', async (t) => {
  const pair = sitePair({ esp: ['3des-sha1'] } as Partial<IkeConnection>, { esp: ['aes256gcm16'] } as Partial<IkeConnection>);
  t.equal(pair.of('a', 'ike-up').length, 1, 'phase 1 came up');
  t.match(problems(pair, 'b'), [{ protocol: 'ikev1', cause: 'child-proposal-mismatch', stage: 'child', site: 'branch', source: A, detail: /failed: no acceptable ESP proposal for tunnel mode \(offered: ESP_3DES\/HMAC_SHA tunnel; accepted: ENCR_AES_GCM_16_256\/NO_ESN\)/ }]);
  t.match(problems(pair, 'a'), [{ protocol: 'ikev1', cause: 'child-proposal-mismatch', stage: 'child', site: 'hq', source: B, detail: /refused by the peer: NO-PROPOSAL-CHOSEN/ }]);
});

t.test('Quick Mode: subnets the other end does not have are traffic-selector-mismatch on both ends', async (t) => {
  const pair = sitePair({ localTs: ['10.9.0.0/16'] });
  t.match(problems(pair, 'b'), [{ protocol: 'ikev1', cause: 'traffic-selector-mismatch', stage: 'child', site: 'branch', source: A, detail: /selectors 10\.9\.0\.0\/16 === 10\.2\.0\.0\/16 are outside site:branch's/ }]);
  t.match(problems(pair, 'a'), [{ protocol: 'ikev1', cause: 'traffic-selector-mismatch', site: 'hq', source: B, detail: /INVALID-ID-INFORMATION/ }]);
});

t.test('Quick Mode never answered: child-refused for the initiator\'s site; a corrupt or replayed message is no problem', async (t) => {
  const base = { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('site:hq', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('site:branch', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.filter = (p) => (p.packet[18] === 32 ? 'drop' : 'deliver'); // every Quick Mode message lost
  pair.take('a', a.initiate('site:hq', { address: A, port: 500 }, 0));
  pair.run(200_000); // five retransmissions, 2 s doubling, then given up at 126 s
  t.match(problems(pair, 'a'), [{ protocol: 'ikev1', cause: 'child-refused', stage: 'child', site: 'hq', source: B, detail: /^Quick Mode [0-9a-f]+ with 192\.0\.2\.2 abandoned: no answer \(connection site:hq\)$/ }]);
  for (const why of ['HASH(3) does not match', 'unexpected in state qm2', 'message ID 0']) {
    t.equal(classify({ kind: 'ike-log', level: 'warn', msg: `Quick Mode 1a2b3c4d with ${A} failed: ${why} (connection site:branch)` }), undefined, why);
  }
});
