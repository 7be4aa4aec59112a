// The IKEv1 responder of L2TP/IPsec (issue 19): a connection with a transportSelector (UDP 1701,
// as listeners.l2tp.ipsec makes) keys only L2TP. Quick Mode IDs for other traffic are refused with
// INVALID-ID-INFORMATION and a line that says what the peer asked for and what is carried.
import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1'; // the client
const B = '192.0.2.2'; // Postern, the LNS
const L2TP = { protocol: 17, port: 1701 };

function l2tpPair(client: Partial<IkeConnection>) {
  const base = { ike: ['aes256-sha1-modp2048'], esp: ['aes128-sha1'], mode: 'transport' as const, localTs: [], remoteTs: [] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, ...client })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('l2tp', { ...base, remoteAddress: A, transportSelector: L2TP })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  pair.run(60_000);
  return pair;
}

t.test('a client keying UDP 1701 both ends gets its transport-mode child for L2TP only', async (t) => {
  const pair = l2tpPair({ transportSelector: L2TP });
  const b = pair.of('b', 'install-child')[0]?.child;
  t.same([b?.localTs, b?.remoteTs], [[`${B}/32[17/1701]`], [`${A}/32[17/1701]`]]);
  t.notOk(pair.logs('b').some((l) => /carries only/.test(l)));
});

t.test('a client asking for all traffic between the hosts, or for another port, is refused with a clear line', async (t) => {
  for (const [client, asked] of [
    [{}, `${A}/32 === ${B}/32`],
    [{ transportSelector: { protocol: 17, port: 1702 } }, `${A}/32[17/1702] === ${B}/32[17/1702]`],
    [{ transportSelector: { protocol: 6, port: 1701 } }, `${A}/32[6/1701] === ${B}/32[6/1701]`],
  ] as const) {
    const pair = l2tpPair(client);
    t.equal(pair.of('b', 'install-child').length, 0, `${asked}: no child on Postern`);
    t.equal(pair.of('a', 'install-child').length, 0, `${asked}: nor on the client`);
    const line = pair.logs('b').find((l) => /^Quick Mode [0-9a-f]+ with 192\.0\.2\.1 failed: /.test(l)) ?? '';
    t.equal(line.replace(/^Quick Mode [0-9a-f]+/, 'Quick Mode X'), `Quick Mode X with ${A} failed: the peer asked for ${asked}, but l2tp carries only protocol 17 port 1701 (L2TP: UDP 1701) in transport mode (connection l2tp)`);
    t.ok(pair.logs('a').some((l) => /refused by the peer: INVALID-ID-INFORMATION/.test(l)), `${asked}: the client is told INVALID-ID-INFORMATION`);
    t.match(classify({ kind: 'ike-log', level: 'warn', msg: line }), { protocol: 'ikev1', cause: 'l2tp-selector-mismatch', stage: 'child', source: A });
  }
});

t.test('issue 24: an L2TP/IPsec client over IPv6 gets its transport child for UDP 1701 (ID_IPV6_ADDR both ends)', async (t) => {
  const [a6, b6] = ['2001:db8:10::2', '2001:db8:1::2'];
  const base = { ike: ['aes256-sha1-modp2048'], esp: ['aes128-sha1'], mode: 'transport' as const, localTs: [], remoteTs: [], transportSelector: L2TP };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: b6 })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('l2tp', { ...base, remoteAddress: a6 })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: a6, b: b6 });
  pair.take('a', a.initiate('to-b', { address: a6, port: 500 }, pair.now));
  pair.run(60_000);
  const [ca, cb] = [pair.of('a', 'install-child')[0]?.child, pair.of('b', 'install-child')[0]?.child];
  t.same([cb?.localTs, cb?.remoteTs], [[`${b6}/128[17/1701]`], [`${a6}/128[17/1701]`]], 'Postern: the two IPv6 hosts, UDP 1701 only');
  t.same([ca?.localTs, ca?.remoteTs], [cb?.remoteTs, cb?.localTs], 'the client: the mirror');
  t.equal(cb?.mode, 'transport');
  t.equal(ca?.inbound.spi, cb?.outbound.spi, 'the same SAs crosswise');
  t.notOk(pair.logs('b').some((l) => /failed|NO-PROPOSAL-CHOSEN|not supported/.test(l)), `nothing refused: ${pair.logs('b').join(' | ')}`);
});

t.test('issue 24: over IPv6 the client still keys only UDP 1701; all traffic between the hosts is refused as over IPv4', async (t) => {
  const [a6, b6] = ['2001:db8:10::2', '2001:db8:1::2'];
  const base = { ike: ['aes256-sha1-modp2048'], esp: ['aes128-sha1'], mode: 'transport' as const, localTs: [], remoteTs: [] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: b6 })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('l2tp', { ...base, remoteAddress: a6, transportSelector: L2TP })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: a6, b: b6 });
  pair.take('a', a.initiate('to-b', { address: a6, port: 500 }, pair.now));
  pair.run(60_000);
  t.equal(pair.of('b', 'install-child').length, 0, 'no child on Postern');
  const line = pair.logs('b').find((l) => l.includes(`with ${a6} failed: the peer asked for ${a6}/128 === ${b6}/128, but l2tp carries only protocol 17 port 1701`)) ?? '';
  t.ok(line, `the IPv6 selectors in the line: ${pair.logs('b').join(' | ')}`);
  t.match(classify({ kind: 'ike-log', level: 'warn', msg: line }), { protocol: 'ikev1', cause: 'l2tp-selector-mismatch', stage: 'child', source: a6 }, 'the connection doctor explains it, with the IPv6 source');
});
