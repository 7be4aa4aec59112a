// Transport mode for L2TP/IPsec (RFC 3947 §5.2, RFC 3948 §3.1.2): the hosts as selectors with
// UDP 1701, and across a NAT (either side behind it) the NAT-OA payloads in QM1 and QM2, the
// responder reading the initiator's selectors as the addresses the packets really carry, and the
// peer's original addresses carried into the child for the checksum fix-up.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair, type InFlight } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const L2TP = { protocol: 17, port: 1701 };

function l2tpPair(overA: Partial<IkeConnection> = {}, overB: Partial<IkeConnection> = {}) {
  const base = { ike: ['aes256-sha1-modp2048'], esp: ['aes128-sha1'], mode: 'transport' as const, localTs: [], remoteTs: [] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, transportSelector: L2TP, ...overA })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, ...overB })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  const start = () => pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  return { pair, start };
}

const quickModeLines = (pair: Ikev1Pair, side: 'a' | 'b') => pair.logs(side).filter((l) => /^recv Quick Mode/.test(l));

t.test('no NAT: the hosts with UDP 1701 as selectors, no NAT-OA, no original addresses', async (t) => {
  const { pair, start } = l2tpPair();
  start();
  pair.run(60_000);
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  t.same(a?.localTs, [`${A}/32[17/1701]`], 'IDci: the initiator, UDP port 1701');
  t.same(a?.remoteTs, [`${B}/32[17/1701]`], 'IDcr: the responder, UDP port 1701');
  t.same(b?.localTs, a?.remoteTs);
  t.same(b?.remoteTs, a?.localTs);
  t.equal(a?.mode, 'transport');
  t.equal(a?.encapsulation, undefined);
  t.equal(a?.originalAddresses, undefined, 'no NAT, nothing to fix up');
  t.equal(b?.originalAddresses, undefined);
  t.same(quickModeLines(pair, 'b'), ['recv Quick Mode [HASH, SA, NONCE, ID, ID] from 192.0.2.1', 'recv Quick Mode [HASH] from 192.0.2.1'], 'QM1 without NAT-OA');
});

t.test('initiator behind a NAT (the Windows client at home): NAT-OA both ways, the responder installs the NAT\'s address', async (t) => {
  const { pair, start } = l2tpPair({}, { remoteAddress: undefined as unknown as string, remoteId: A });
  const NAT = '198.51.100.7';
  const mapped = new Map<number, number>();
  pair.nat = (p: InFlight) => {
    if (p.from.address === A) {
      mapped.set(p.from.port + 10000, p.from.port);
      return { ...p, from: { address: NAT, port: p.from.port + 10000 } };
    }
    if (p.to.address === NAT) return { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
    return p;
  };
  start();
  pair.run(60_000);
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  t.ok(a && b, 'both sides installed the child');
  t.same(quickModeLines(pair, 'b')[0], `recv Quick Mode [HASH, SA, NONCE, ID, ID, NAT-OA, NAT-OA] from ${NAT}`, 'QM1 carries NAT-OAi and NAT-OAr');
  t.same(quickModeLines(pair, 'a')[0], `recv Quick Mode [HASH, SA, NONCE, ID, ID, NAT-OA, NAT-OA] from ${B}`, 'and QM2');
  t.same(a?.localTs, [`${A}/32[17/1701]`], 'the initiator keeps its own private address');
  t.same(b?.remoteTs, [`${NAT}/32[17/1701]`], 'the responder takes IDci (the private address) as the NAT\'s, where the packets come from');
  t.same(b?.localTs, [`${B}/32[17/1701]`]);
  t.same(b?.originalAddresses, { local: B, remote: A }, 'the responder learns the initiator\'s original address from NAT-OAi');
  t.same(a?.originalAddresses, { local: NAT, remote: B }, 'the initiator learns how the responder sees it from NAT-OAi in QM2');
  t.same(a?.encapsulation, { localPort: 4500, remotePort: 4500 }, 'ESP in UDP');
  t.equal(a?.inbound.spi, b?.outbound.spi, 'the same SAs crosswise');
  t.ok(pair.logs('b').some((l) => l === `transport mode across a NAT: ${A}/32[17/1701] === ${B}/32[17/1701] taken as ${NAT}/32[17/1701] === ${B}/32[17/1701]`), 'the substitution is logged');
});

t.test('responder behind a NAT (Postern behind a port forward): the initiator names the public address, the responder its own', async (t) => {
  const PUBLIC = '203.0.113.9';
  const { pair, start } = l2tpPair({ remoteAddress: PUBLIC, remoteId: B }, {});
  pair.nat = (p: InFlight) => {
    if (p.to.address === PUBLIC) return { ...p, to: { address: B, port: p.to.port } };
    if (p.from.address === B) return { ...p, from: { address: PUBLIC, port: p.from.port } };
    return p;
  };
  start();
  pair.run(60_000);
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  t.ok(a && b, 'both sides installed the child');
  t.same(a?.remoteTs, [`${PUBLIC}/32[17/1701]`], 'IDcr: the responder as the initiator reaches it');
  t.same(b?.localTs, [`${B}/32[17/1701]`], 'the responder installs its own address');
  t.same(b?.remoteTs, [`${A}/32[17/1701]`]);
  t.same(b?.originalAddresses, { local: PUBLIC, remote: A }, 'NAT-OAr: the address the initiator\'s checksums were made with');
  t.same(a?.originalAddresses, { local: A, remote: B }, 'NAT-OAr in QM2: the responder\'s own address');
  t.equal(pair.engines.b.sas[0]?.natLocal, true, 'the responder knows it is behind the NAT');
  t.same(b?.encapsulation, { localPort: 4500, remotePort: 4500 });
});

t.test('the L2TP responder takes whatever ID a client behind NAT sends (its private address); a connection expecting an ID does not', async (t) => {
  const NAT = '198.51.100.7';
  const behindNat = (pair: Ikev1Pair) => {
    pair.nat = (p: InFlight) => {
      if (p.from.address === A) return { ...p, from: { address: NAT, port: p.from.port } };
      if (p.to.address === NAT) return { ...p, to: { address: A, port: p.to.port } };
      return p;
    };
  };
  const open = l2tpPair({}, { remoteAddress: undefined as unknown as string, anyRemoteId: true });
  behindNat(open.pair);
  open.start();
  open.pair.run(60_000);
  t.ok(open.pair.of('b', 'install-child')[0], `the client's ID ${A} from ${NAT} is taken`);

  const strict = l2tpPair({}, { remoteAddress: undefined as unknown as string });
  behindNat(strict.pair);
  strict.start();
  strict.pair.run(60_000);
  t.equal(strict.pair.of('b', 'install-child').length, 0, 'no child without anyRemoteId');
  t.ok(strict.pair.logs('b').some((l) => l.includes(`the peer's ID ${A} is not the expected ${NAT}`)), 'refused for its ID');
});

t.test('issue 24: an IPv6 client behind NAT66 (RFC 3947 §5.2 with ID_IPV6_ADDR): NAT-OA carries 16 bytes, the responder installs the translated address', async (t) => {
  const [A6, B6, NAT6] = ['2001:db8:10::2', '2001:db8:1::2', '2001:db8:99::7'];
  const base = { ike: ['aes256-sha1-modp2048'], esp: ['aes128-sha1'], mode: 'transport' as const, localTs: [], remoteTs: [] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B6, transportSelector: L2TP })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: undefined as unknown as string, remoteId: A6, transportSelector: L2TP })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A6, b: B6 });
  pair.nat = (p: InFlight) => {
    if (p.from.address === A6) return { ...p, from: { address: NAT6, port: p.from.port } };
    if (p.to.address === NAT6) return { ...p, to: { address: A6, port: p.to.port } };
    return p;
  };
  pair.take('a', a.initiate('to-b', { address: A6, port: 500 }, pair.now));
  pair.run(60_000);
  const ca = pair.of('a', 'install-child')[0]?.child;
  const cb = pair.of('b', 'install-child')[0]?.child;
  t.ok(ca && cb, `both sides installed the child: ${pair.logs('b').join(' | ')}`);
  t.same(quickModeLines(pair, 'b')[0], `recv Quick Mode [HASH, SA, NONCE, ID, ID, NAT-OA, NAT-OA] from ${NAT6}`, 'QM1 carries NAT-OAi and NAT-OAr');
  t.same(ca?.localTs, [`${A6}/128[17/1701]`], 'the initiator keeps its own address');
  t.same(cb?.remoteTs, [`${NAT6}/128[17/1701]`], 'the responder takes IDci as the translated address the packets come from');
  t.same(cb?.originalAddresses, { local: B6, remote: A6 }, 'NAT-OAi: the initiator\'s original IPv6 address');
  t.same(ca?.originalAddresses, { local: NAT6, remote: B6 }, 'NAT-OAi in QM2: how the responder sees the initiator');
  t.same(ca?.encapsulation, { localPort: 4500, remotePort: 4500 }, 'ESP in UDP 4500 over IPv6');
});
