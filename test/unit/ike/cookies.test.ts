import t from 'tap';
import { defaultCookieOptions } from '../../../firmware/ike/engine/cookies.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { encodeIkeMessage } from '../../../firmware/ike/message.ts';
import { proposalsFromSpecs } from '../../../firmware/ike/engine/payload-helpers.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { createDh } from '../../../firmware/ike/crypto/dh.ts';
import { ExchangeType, ProtocolId } from '../../../firmware/ike/registry/numbers.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const responder = (cookies: Partial<typeof defaultCookieOptions>) =>
  new IkeEngine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), { cookies: { ...defaultCookieOptions, ...cookies } });

/** A first message as any initiator would send it, from a chosen SPI. */
function initRequest(spi: bigint): Uint8Array {
  const dh = createDh(14)!;
  return encodeIkeMessage({ initiatorSpi: spi, responderSpi: 0n, exchangeType: ExchangeType.IKE_SA_INIT, initiator: true, response: false, higherVersion: false, messageId: 0 }, [
    { kind: 'SA', proposals: proposalsFromSpecs([parseProposal('aes256-sha256-modp2048', 'ike')!], ProtocolId.IKE, new Uint8Array()) },
    { kind: 'KE', ke: { group: 14, data: dh.publicValue } },
    { kind: 'Nonce', nonce: new Uint8Array(32).fill(7) },
  ]);
}

t.test('above the threshold the responder asks for a cookie, keeps no state, and the initiator comes back with it', async (t) => {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B })], seededCrypto('a'));
  const b = responder({ threshold: 0 });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(5000);
  t.equal(b.drops['cookie-requested'], 1, 'one COOKIE answer');
  t.ok(pair.logs('a').some((l) => /received IKE_SA_INIT response 0 \[ N\(COOKIE\) \]/.test(l)));
  t.ok(pair.logs('a').some((l) => /sending IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE Nonce/.test(l)), 'the retry carries the cookie first');
  t.equal(pair.of('a', 'install-child').length, 1, 'and completes');
});

t.test('a wrong or replayed-from-elsewhere cookie gets a fresh cookie, not an SA', async (t) => {
  const b = responder({ threshold: 0 });
  const first = b.handlePacket(initRequest(1n), { address: '198.51.100.1', port: 500 }, { address: B, port: 500 }, 0);
  const cookieReply = first.find((x) => x.type === 'send');
  t.ok(cookieReply, 'a COOKIE answer');
  t.equal(b.sas.length, 0, 'no state kept');
  // The same request with a cookie made for another address is refused again.
  const other = b.handlePacket(initRequest(1n), { address: '198.51.100.2', port: 500 }, { address: B, port: 500 }, 10);
  t.equal(b.sas.length, 0);
  t.equal(other.filter((x) => x.type === 'send').length, 1);
  t.equal(b.drops['cookie-requested'], 2);
});

t.test('half-open SAs are capped and each source is rate-limited', async (t) => {
  const b = responder({ threshold: 1000, halfOpenLimit: 10, perSourceRate: 1000 });
  for (let i = 1; i <= 30; i++) b.handlePacket(initRequest(BigInt(i)), { address: `198.51.100.${i}`, port: 500 }, { address: B, port: 500 }, 0);
  t.equal(b.halfOpenCount, 10, 'ten half-open SAs');
  t.equal(b.drops['half-open-limit'], 20, 'the rest dropped and counted');
  b.tick(31_000);
  t.equal(b.halfOpenCount, 0, 'half-open SAs expire');
  const c = responder({ threshold: 1000, perSourceRate: 5 });
  const replies = [];
  for (let i = 1; i <= 30; i++) replies.push(...c.handlePacket(initRequest(BigInt(i)), { address: '198.51.100.9', port: 500 }, { address: B, port: 500 }, 0));
  t.equal(c.halfOpenCount, 10, 'a burst of twice the rate from one address');
  t.equal(c.drops['rate-limited'], 20);
  t.equal(replies.filter((x) => x.type === 'send').length, 30, 'over the rate each request is answered with a COOKIE, not dropped in silence');
});

t.test('issue 15.2: forged IKE_SA_INIT in a victim\'s name at 100/s do not starve the victim', async (t) => {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B })], seededCrypto('a'));
  const b = responder({});
  const pair = new EnginePair(a, b);
  let forged = 1000n;
  let upAt: number | undefined;
  for (let now = 0; now <= 20_000; now += 10) {
    // The forger sends from A's address (the victim's, or its NAT's) and never sees the answers.
    pair.take('b', b.handlePacket(initRequest(forged++), { address: A, port: 500 }, { address: B, port: 500 }, now));
    if (now === 500) pair.take('a', a.initiate('to-b', { address: A, port: 500 }, now));
    pair.run(now);
    upAt ??= pair.of('a', 'install-child').length ? now : undefined;
  }
  t.ok(b.drops['rate-limited']! > 400, `the forged flood was over the rate (${b.drops['rate-limited']} answered with cookies)`);
  t.equal(pair.of('a', 'install-child').length, 1, 'the victim completed its IKE SA and child through the cookie');
  t.ok(upAt !== undefined && upAt < 1000, `while the flood went on, within its first try (up at ${upAt} ms, flood until 20,000 ms)`);
  t.ok(pair.logs('a').some((l) => /received IKE_SA_INIT response 0 \[ N\(COOKIE\) \]/.test(l)), 'after one COOKIE round trip');
  t.ok(b.halfOpenCount <= defaultCookieOptions.threshold, `forged state stays bounded by the cookie threshold (${b.halfOpenCount} half-open)`);
});
