// IKEv1 phase 1 renewal by lifetime on a simulated clock (issue 19): a new Main Mode before the old
// ISAKMP SA expires, its children carried over on both ends (no child deleted, no SPI changed), the
// old SA deleted alone; and the peer's shorter lifetime (RESPONDER-LIFETIME) honoured for phase 1
// and phase 2.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { RETIRE_OLD_MS } from '../../../firmware/ikev1/engine/lifetimes.ts';
import { sealInformational } from '../../../firmware/ikev1/engine/protect.ts';
import { cookieBytes } from '../../../firmware/ikev1/crypto/keys.ts';
import { DOI_IPSEC, ProtocolId } from '../../../firmware/ikev1/registry.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function pairOf(overA: Over = {}, overB: Over = {}) {
  const base = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('pa'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('pb'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  return pair;
}

const live = (pair: Ikev1Pair, side: 'a' | 'b') => pair.engines[side].sas.filter((s) => s.state === 'established');

t.test('phase 1 renewed at the IKE rekey time: children carried over on both ends, the old SA deleted alone', async (t) => {
  const pair = pairOf({ ikeRekeySeconds: 300 });
  pair.run(60_000);
  const first = pair.engines.a.sas[0]!;
  const childA = pair.of('a', 'install-child')[0]!.child;
  pair.run(299_000);
  t.equal(live(pair, 'a').length, 1, 'nothing before the rekey time');
  pair.run(300_000 + RETIRE_OLD_MS + 1_000);
  const [renewedA] = pair.of('a', 'ike-rekeyed');
  const [renewedB] = pair.of('b', 'ike-rekeyed');
  t.equal(renewedA?.oldSpi, first.ckyI, 'A renewed its ISAKMP SA');
  t.equal(renewedB?.oldSpi, first.ckyI, 'B saw it as a renewal too');
  t.equal(renewedA?.spi, renewedB?.spi, 'the same new SA on both ends');
  t.equal(live(pair, 'a').length, 1, 'A holds one ISAKMP SA again');
  t.equal(live(pair, 'b').length, 1, 'and B');
  t.equal(first.state, 'closed', 'the old one is gone');
  t.same(live(pair, 'a')[0]!.children.map((c) => c.inbound.spi), [childA.inbound.spi], 'the child moved over unchanged');
  t.equal(live(pair, 'b')[0]!.children.length, 1);
  t.equal(pair.of('a', 'delete-child').length + pair.of('b', 'delete-child').length, 0, 'no child was deleted');
  t.equal(pair.of('a', 'install-child').length + pair.of('b', 'install-child').length, 2, 'and no new Quick Mode was needed');
  t.equal(pair.of('a', 'ike-down').length + pair.of('b', 'ike-down').length, 0, 'no site went down');
  t.equal(pair.of('a', 'ike-up').length, 1, 'one ike-up, at the start');
  pair.run(1_000_000);
  t.equal(pair.of('a', 'ike-rekeyed').length, 3, 'again every 300 s');
  t.equal(live(pair, 'b')[0]!.children.length, 1, 'still the one child');
});

t.test('children keep rekeying by their own lifetime across phase 1 renewals, with loss on the wire', async (t) => {
  const pair = pairOf({ ikeRekeySeconds: 250, rekeySeconds: 100 });
  pair.filter = (_p, n) => (n % 11 === 7 ? 'drop' : 'deliver');
  pair.run(1_000_000);
  t.ok(pair.of('a', 'ike-rekeyed').length >= 3, `phase 1 renewed (${pair.of('a', 'ike-rekeyed').length})`);
  t.ok(pair.of('a', 'rekey-child').length >= 8, `children rekeyed (${pair.of('a', 'rekey-child').length})`);
  t.equal(live(pair, 'a').length, 1);
  t.equal(live(pair, 'b').length, 1);
  t.equal(live(pair, 'a')[0]!.children.length, 1, 'one child on A');
  t.equal(live(pair, 'b')[0]!.children.length, 1, 'one child on B');
  t.equal(pair.of('a', 'ike-down').length + pair.of('b', 'ike-down').length, 0, 'never down');
  const inA = live(pair, 'a')[0]!.children[0]!;
  t.equal(inA.inbound.spi, live(pair, 'b')[0]!.children[0]!.outbound.spi, 'the SPIs agree');
});

t.test('RESPONDER-LIFETIME: a responder that keeps SAs for less tells so, and the initiator renews in time', async (t) => {
  // A offers 3600 s + margin for phase 2 and the default 10,800 s for phase 1; B keeps 100 s and 500 s.
  const pair = pairOf({ rekeySeconds: 3600 }, { rekeySeconds: 100, ikeRekeySeconds: 500 });
  pair.run(60_000);
  const logsB = pair.logs('b');
  t.ok(logsB.some((l) => /send Informational\* \[HASH, N\(24576\)\]/.test(l)), 'B announced its phase 1 lifetime');
  t.ok(logsB.some((l) => /send Quick Mode\* \[HASH, SA, NONCE, ID, ID, N\(24576\)\]/.test(l)), 'and its phase 2 lifetime in QM2');
  const lifeB = 100 + 60; // lifetimeFor(100): rekey time plus a margin
  const lifeB1 = 500 + 60;
  t.equal(pair.engines.a.sas[0]!.peerLifeSeconds, lifeB1, 'A took the phase 1 lifetime');
  pair.run(lifeB * 900 + 1_000);
  t.equal(pair.of('a', 'rekey-child').length, 1, `A rekeyed the child at 90 % of B's ${lifeB} s, not at its own 3600 s`);
  pair.run(lifeB1 * 900 + RETIRE_OLD_MS + 1_000);
  t.equal(pair.of('a', 'ike-rekeyed').length, 1, `A renewed phase 1 at 90 % of B's ${lifeB1} s`);
  t.equal(pair.of('a', 'ike-down').length, 0);
});

t.test('a renewal that fails leaves the old SA working, and is tried again', async (t) => {
  const pair = pairOf({ ikeRekeySeconds: 300 });
  pair.run(60_000);
  // B stops answering new Main Modes for a while (its half-open budget is full, say).
  pair.filter = (p) => (p.at > 290_000 && p.at < 400_000 && p.packet[18] === 2 && p.from.address === B ? 'drop' : 'deliver');
  pair.run(399_000);
  t.equal(pair.of('a', 'ike-rekeyed').length, 0, 'no renewal while B is silent');
  t.equal(live(pair, 'a').length, 1, 'the old SA still works');
  t.equal(live(pair, 'a')[0]!.children.length, 1);
  pair.run(600_000);
  t.equal(pair.of('a', 'ike-rekeyed').length, 1, 'renewed once B answers again');
  t.equal(pair.of('a', 'ike-down').length, 0, 'the failed renewal never took the site down');
});

/** The peer's side of strongSwan's IKEv1 reauthentication, first step: a Delete naming only its ISAKMP SA. */
function isakmpDeleteFrom(pair: Ikev1Pair, side: 'a' | 'b'): Uint8Array {
  const sa = pair.engines[side].sas.find((s) => s.state === 'established')!;
  return sealInformational(sa, 0x0badcafe, [{ kind: 'D', delete: { doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)])] } }]);
}

t.test('the peer deletes its ISAKMP SA and makes a new one (strongSwan\'s reauthentication): the children run on and move over', async (t) => {
  const pair = pairOf();
  pair.run(60_000);
  const child = pair.of('a', 'install-child')[0]!.child;
  const at = (side: 'a' | 'b') => ({ address: side === 'a' ? A : B, port: 500 });
  pair.take('a', pair.engines.a.handlePacket(isakmpDeleteFrom(pair, 'b'), at('b'), at('a'), pair.now));
  t.equal(pair.of('a', 'delete-child').length, 0, 'A keeps the child when B deletes the ISAKMP SA alone');
  t.equal(pair.of('a', 'ike-down').length, 0, 'and the site stays up');
  t.ok(pair.logs('a').some((l) => /children run on for 30 s/.test(l)), 'A says why');
  pair.take('b', pair.engines.b.initiate('to-a', at('b'), pair.now));
  pair.run(pair.now + 40_000);
  t.equal(pair.of('a', 'ike-rekeyed').length, 1, 'B\'s new Main Mode took the parked child over');
  const live = pair.engines.a.sas.filter((s) => s.state === 'established');
  t.same(live.map((s) => s.children.map((c) => c.inbound.spi)), [[child.inbound.spi]], 'one ISAKMP SA, the same child');
  t.equal(pair.of('a', 'delete-child').length + pair.of('a', 'ike-down').length, 0, 'nothing deleted, nothing down');
});

t.test('a parked child nobody adopts goes after the grace period, and the site with it', async (t) => {
  const pair = pairOf();
  pair.run(60_000);
  const at = (side: 'a' | 'b') => ({ address: side === 'a' ? A : B, port: 500 });
  pair.take('a', pair.engines.a.handlePacket(isakmpDeleteFrom(pair, 'b'), at('b'), at('a'), pair.now));
  const parked = pair.now;
  pair.run(parked + 29_000);
  t.equal(pair.of('a', 'delete-child').length, 0, 'kept during the grace period');
  pair.run(parked + 31_000);
  t.equal(pair.of('a', 'delete-child').length, 1, 'then deleted');
  t.match(pair.of('a', 'ike-down')[0]?.reason, /no new ISAKMP SA took its children/);
});
