// A Main Mode flood never starves established peers (issue 19): the responder keeps at most its
// half-open budget (in all and per source), drops and counts the rest, its established SA keeps
// rekeying through the flood, and once the half-open timeout has passed a new peer gets in.
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

t.test('a Main Mode flood from many sources: bounded half-open state, the established SA unharmed', async (t) => {
  const base = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'], localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], rekeySeconds: 60 })], seededCrypto('fa'));
  // A dial-up connection (no remote address) is what a flood can reach: every source may try it.
  const b = new Ikev1Engine([connection('dialup', base)], seededCrypto('fb'), { halfOpenLimit: 200, halfOpenPerSource: 4 });
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(10_000);
  t.equal(pair.of('b', 'ike-up').length, 1, 'A is up before the flood');
  const firstMessage = Buffer.from(pair.wireLog[0]!.packet);

  // 3,000 first messages from 600 spoofed sources (5 each), each with its own initiator cookie.
  let answered = 0;
  for (let i = 0; i < 3000; i++) {
    const m = Buffer.from(firstMessage);
    m.writeUInt32BE(0xf1000000 + i, 0);
    const source = { address: `198.51.${100 + Math.floor(i / 5 / 250)}.${1 + (Math.floor(i / 5) % 250)}`, port: 500 };
    answered += b.handlePacket(m, source, { address: B, port: 500 }, pair.now).filter((x) => x.type === 'send').length;
  }
  const halfOpen = b.sas.filter((s) => s.state !== 'established' && s.state !== 'closed').length;
  t.ok(halfOpen <= 200, `half-open SAs bounded by the budget (${halfOpen})`);
  t.equal(answered, halfOpen, 'only those within the budget were answered');
  t.ok((b.drops['half-open'] ?? 0) >= 2800 - 200, `the rest dropped and counted (${b.drops['half-open']})`);

  // The established SA rekeys its child through the flood.
  pair.run(pair.now + 70_000);
  t.ok(pair.of('a', 'rekey-child').length >= 1, 'A\'s child was rekeyed during the flood');
  t.equal(pair.of('b', 'ike-down').length, 0, 'and B never dropped A');

  // After the half-open timeout the flood's SAs are gone and a new peer gets in.
  pair.run(pair.now + 35_000);
  t.equal(b.sas.filter((s) => s.state !== 'established' && s.state !== 'closed').length, 0, 'the flood\'s half-open SAs timed out');
  const c = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.3.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('fc'));
  const late = new Ikev1Pair(c, b, { a: '192.0.2.3', b: B });
  late.now = pair.now;
  late.take('a', c.initiate('to-b', { address: '192.0.2.3', port: 500 }, late.now));
  late.run(late.now + 10_000);
  t.equal(late.of('a', 'ike-up').length, 1, 'a new peer completes Main Mode after the flood');
});
