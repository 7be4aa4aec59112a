// The doctor against the IKEv2 engine's real log lines: two engines back to back, each failure
// classified once, so a reworded engine message shows up here and not in the field.
import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { VirtualAddressProvider } from '../../../firmware/ike/engine/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function problems(pair: EnginePair, side: 'a' | 'b') {
  return pair.of(side, 'log').flatMap((l) => {
    const p = classify({ kind: 'ike-log', level: l.level, msg: l.msg, ...(l.fields ? { fields: l.fields } : {}) });
    return p ? [p] : [];
  });
}

function sitePair(overA = {}, overB = {}) {
  const a = new IkeEngine([connection('site:hq', { remoteAddress: B, ...overA })], seededCrypto('a'));
  const b = new IkeEngine([connection('site:branch', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b'));
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('site:hq', { address: A, port: 500 }, 0));
  pair.run();
  return pair;
}

t.test('a wrong EAP password: one wrong-password problem for the user, with the source address', async (t) => {
  const users = (name: string) => (name === 'alice' ? credentialFromPassword('Correct-Horse-7') : undefined);
  const pool: VirtualAddressProvider = { lease: () => ({ ipv4: '10.10.0.1', dns: [] }), release: () => {} };
  const a = new IkeEngine([connection('vpn', { remoteAddress: B, remoteId: 'vpn.example.com', requestVirtualIp: true, remoteTs: ['0.0.0.0/0'], eap: { identity: 'alice', password: new Secret('wrong') } })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { localId: 'vpn.example.com', peerAuth: 'eap-mschapv2', pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [] })], seededCrypto('b'), { users, addresses: pool });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
  pair.run(10_000);
  const found = problems(pair, 'b');
  t.equal(found.length, 1, 'recorded once, not again at the close');
  t.match(found[0], { protocol: 'ikev2', stage: 'eap', cause: 'wrong-password', user: 'alice', source: A, client: { windows: /691/ } });
});

t.test('a wrong site key: the responder sees psk-mismatch for the site, the initiator sees the refusal', async (t) => {
  const pair = sitePair({}, { psk: new Secret('another key') });
  const b = problems(pair, 'b');
  t.equal(b.length, 1);
  t.match(b[0], { cause: 'psk-mismatch', stage: 'ike-auth', site: 'branch', source: A, client: { windows: /13801/ } });
  const a = problems(pair, 'a');
  t.equal(a.length, 1);
  t.match(a[0], { cause: 'peer-refused', site: 'hq' });
});

t.test('no common IKE proposal: both ends explain it as a proposal mismatch', async (t) => {
  const pair = sitePair({ ike: ['aes128-sha1-modp2048'] }, { ike: ['aes256-sha384-ecp384'] });
  t.match(problems(pair, 'b'), [{ cause: 'ike-proposal-mismatch', stage: 'ike-init', source: A, client: { windows: /13868/ } }]);
  t.match(problems(pair, 'a'), [{ cause: 'ike-proposal-mismatch', site: 'hq' }]);
});

t.test('traffic selectors that do not fit: a child problem for the site', async (t) => {
  const pair = sitePair({ remoteTs: ['10.9.0.0/16'] });
  t.match(problems(pair, 'b'), [{ cause: 'traffic-selector-mismatch', stage: 'child', site: 'branch' }]);
});

t.test('a working connection records nothing', async (t) => {
  const pair = sitePair({ esp: ['aes256-sha1'] }, { esp: ['aes256-sha1'] });
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.same([...problems(pair, 'a'), ...problems(pair, 'b')], []);
});
