/**
 * SSTP admission on a fake clock (issue 15, finding 1): per-source and per-/64 limits on unfinished
 * connections, a handshake budget apart from calls, the oldest unfinished connection evicted when the
 * budget is full, shorter timeouts once it is over half full.
 */
import t from 'tap';
import { SstpAdmission, sourceKey, type Admission } from '../../../firmware/sstp/admission.ts';

const accepted = (a: Admission): { id: number; evict?: number } => {
  if (a.kind !== 'accept') throw new Error(`refused: ${a.reason}`);
  return a;
};

t.test('source keys: an IPv4 address, IPv4-mapped the same, an IPv6 /64', async (t) => {
  t.equal(sourceKey('192.0.2.7'), '192.0.2.7');
  t.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7', 'a dual-stack socket reports IPv4 peers mapped: same source');
  t.equal(sourceKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.equal(sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'any interface identifier: the same /64');
  t.equal(sourceKey('2001:0db8:0001:0002:0000:0000:0000:0009'), '2001:db8:1:2::/64', 'spelled out in full: the same');
  t.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone index does not make another source');
  t.not(sourceKey('2001:db8:1:3::1'), sourceKey('2001:db8:1:2::1'), 'the next /64 is another source');
});

t.test('one IPv4 address holds at most perSource unfinished connections; others are not affected', async (t) => {
  const a = new SstpAdmission({ perSource: 3, handshakes: 100 });
  for (let i = 0; i < 3; i++) accepted(a.admit('198.51.100.9', 0));
  t.same(a.admit('198.51.100.9', 0), { kind: 'refuse', reason: 'per-source' }, 'the fourth is refused');
  t.same(a.admit('::ffff:198.51.100.9', 0), { kind: 'refuse', reason: 'per-source' }, 'also when it comes IPv4-mapped');
  t.equal(a.admit('198.51.100.10', 0).kind, 'accept', 'the neighbouring address is its own source');
  t.equal(a.counters.refusedPerSource, 2);
  t.equal(a.handshakes, 4);
});

t.test('a whole IPv6 /64 counts as one source', async (t) => {
  const a = new SstpAdmission({ perSource: 4, handshakes: 100 });
  for (let i = 1; i <= 4; i++) accepted(a.admit(`2001:db8:aa:bb::${i.toString(16)}`, 0));
  t.same(a.admit('2001:db8:aa:bb:1234:5678:9abc:def0', 0), { kind: 'refuse', reason: 'per-source' }, 'a fifth address in the same /64 is refused');
  t.equal(a.admit('2001:db8:aa:bc::1', 0).kind, 'accept', 'the next /64 is not');
});

t.test('a finished handshake frees its source\'s slot; a call does not hold one', async (t) => {
  const a = new SstpAdmission({ perSource: 2, handshakes: 100 });
  const x = accepted(a.admit('203.0.113.5', 0));
  const y = accepted(a.admit('203.0.113.5', 0));
  t.equal(a.admit('203.0.113.5', 0).kind, 'refuse');
  t.ok(a.promoted(x.id), 'x becomes a call');
  t.equal(a.calls, 1);
  t.equal(a.handshakes, 1);
  a.closed(y.id);
  t.equal(a.admit('203.0.113.5', 0).kind, 'accept');
  t.equal(a.admit('203.0.113.5', 0).kind, 'accept', 'both slots are free again while x stays a call');
});

t.test('when the handshake budget is full the oldest unfinished connection is evicted, in arrival order', async (t) => {
  const a = new SstpAdmission({ perSource: 100, handshakes: 4 });
  const ids = [1, 2, 3, 4].map((i) => accepted(a.admit(`192.0.2.${i}`, i)).id);
  t.ok(a.promoted(ids[1]!), 'the second becomes a call: it is no handshake any more, never evicted');
  const fifth = accepted(a.admit('192.0.2.5', 5));
  t.equal(fifth.evict, undefined, 'room was made by the call');
  const sixth = accepted(a.admit('192.0.2.6', 6));
  t.equal(sixth.evict, ids[0], 'the oldest goes first');
  const seventh = accepted(a.admit('192.0.2.7', 7));
  t.equal(seventh.evict, ids[2], 'then the next oldest unfinished one (the call is skipped)');
  a.closed(ids[3]!);
  t.equal(accepted(a.admit('192.0.2.8', 8)).evict, undefined, 'a closed connection leaves room: nothing evicted');
  t.equal(accepted(a.admit('192.0.2.9', 9)).evict, fifth.id);
  t.equal(a.counters.evictedOldest, 3);
  t.equal(a.calls, 1, 'the call was never touched');
  t.notOk(a.promoted(ids[0]!), 'an evicted connection cannot become a call');
});

t.test('a flood from one source never fills the budget: a real client from elsewhere goes straight in', async (t) => {
  const a = new SstpAdmission({ perSource: 32, handshakes: 1024 });
  let refused = 0;
  for (let i = 0; i < 5000; i++) if (a.admit('198.51.100.66', i).kind === 'refuse') refused++;
  t.equal(refused, 5000 - 32);
  const client = a.admit('192.0.2.200', 5000);
  t.same(client, { kind: 'accept', id: client.kind === 'accept' ? client.id : -1 }, 'accepted, nothing evicted');
  t.notOk(a.underPressure, 'and no pressure');
});

t.test('a flood from many sources: a newcomer always gets in, and lives until budget-many newer arrive', async (t) => {
  const a = new SstpAdmission({ perSource: 32, handshakes: 64 });
  for (let i = 0; i < 5000; i++) accepted(a.admit(`10.0.${i % 200}.1`, 0));
  const client = accepted(a.admit('192.0.2.200', 1));
  let alive = 0;
  for (let i = 0; i < 200; i++) {
    const next = accepted(a.admit(`10.1.${i}.1`, 1));
    if (next.evict === client.id) break;
    alive++;
  }
  t.equal(alive, 63, 'the client was evicted only by the 64th connection after it');
});

t.test('handshake timeout: 15 s normally, the short one once more than half the budget is in use', async (t) => {
  const a = new SstpAdmission({ perSource: 100, handshakes: 4, handshakeTimeoutMs: 15_000, pressureTimeoutMs: 3_000 });
  const first = accepted(a.admit('192.0.2.1', 0));
  t.equal(a.timeoutMs(), 15_000);
  t.equal(a.nextTimeout(), 15_000);
  t.same(a.expired(14_999), []);
  accepted(a.admit('192.0.2.2', 1000));
  t.notOk(a.underPressure, 'two of four is half, not over');
  accepted(a.admit('192.0.2.3', 2000));
  t.ok(a.underPressure, 'three of four is over half');
  t.equal(a.counters.pressureEpisodes, 1);
  t.equal(a.timeoutMs(), 3_000);
  t.equal(a.nextTimeout(), 3_000, 'the oldest is due 3 s after it arrived');
  t.same(a.expired(3_000), [first.id], 'the oldest goes under the short timeout');
  t.notOk(a.underPressure, 'two left: the pressure is off');
  t.same(a.expired(4_000), [], 'so the second is back on 15 s (it would be due at 4 s under pressure)');
  t.equal(a.nextTimeout(), 16_000);
  t.same(a.expired(17_000).length, 2, 'both left time out by 17 s');
  t.equal(a.counters.timedOut, 3);
  t.equal(a.counters.timedOutUnderPressure, 1);
  t.equal(a.nextTimeout(), undefined, 'nothing unfinished: no timer');
});

t.test('established calls have their own cap, and handshakes never count against it', async (t) => {
  const a = new SstpAdmission({ perSource: 100, handshakes: 2, calls: 2 });
  const x = accepted(a.admit('192.0.2.1', 0));
  const y = accepted(a.admit('192.0.2.2', 0));
  const z = accepted(a.admit('192.0.2.3', 0));
  t.equal(z.evict, x.id, 'the handshake budget (2) is full: x evicted, calls untouched');
  t.ok(a.promoted(y.id));
  t.ok(a.promoted(z.id));
  t.equal(a.calls, 2);
  t.same(a.admit('192.0.2.4', 1), { kind: 'refuse', reason: 'calls-full' }, 'no handshake while every call slot is taken');
  a.closed(y.id);
  const w = accepted(a.admit('192.0.2.4', 2));
  const v = accepted(a.admit('192.0.2.5', 2));
  t.ok(a.promoted(w.id));
  t.notOk(a.promoted(v.id), 'the cap is checked again when a call is established');
  t.equal(a.counters.refusedCallsFull, 2);
  t.equal(a.handshakes, 0, 'v left the handshake budget too');
});

t.test('closed is safe to repeat and for unknown ids', async (t) => {
  const a = new SstpAdmission({ perSource: 1, handshakes: 1 });
  const x = accepted(a.admit('192.0.2.1', 0));
  a.closed(x.id);
  a.closed(x.id);
  a.closed(12345);
  t.equal(a.handshakes, 0);
  t.equal(a.admit('192.0.2.1', 0).kind, 'accept', 'the source count did not go below zero');
  t.equal(a.admit('192.0.2.1', 0).kind, 'refuse');
});

t.test('while the authentication server has the credentials the clock stops; the answer gives a fresh timeout', async (t) => {
  const a = new SstpAdmission({ perSource: 10, handshakes: 4, handshakeTimeoutMs: 5_000, pressureTimeoutMs: 1_000 });
  const x = accepted(a.admit('192.0.2.1', 0));
  const y = accepted(a.admit('192.0.2.2', 1_000));
  a.awaiting(x.id);
  t.equal(a.nextTimeout(), 6_000, 'only y is on the clock');
  t.same(a.expired(20_000), [y.id], 'at 20 s y is gone, x (waiting for RADIUS) is not');
  t.equal(a.handshakes, 1, 'x still counts in the handshake budget');
  a.resumed(x.id, 20_000);
  t.equal(a.nextTimeout(), 25_000, 'the answer came at 20 s: the client has until 25 s');
  a.awaiting(x.id);
  a.resumed(x.id, 30_000);
  t.same(a.expired(34_999), [], 'a second wait (EAP\'s next round trip) again is not the client\'s time');
  t.ok(a.promoted(x.id), 'and the call is established');
  t.equal(a.handshakes, 0);
});

t.test('a waiting connection is never the one evicted, and closing it frees its source', async (t) => {
  const a = new SstpAdmission({ perSource: 1, handshakes: 2 });
  const x = accepted(a.admit('192.0.2.1', 0));
  a.awaiting(x.id);
  t.equal(a.admit('192.0.2.1', 1).kind, 'refuse', 'it still counts against its source');
  const y = accepted(a.admit('192.0.2.2', 1));
  const z = accepted(a.admit('192.0.2.3', 2));
  t.equal(z.evict, y.id, 'the budget is full: the oldest connection on the clock goes, not the waiting one');
  t.ok(a.promoted(x.id), 'a call established while (or just after) waiting');
  a.closed(x.id);
  a.closed(z.id);
  t.equal(a.admit('192.0.2.1', 3).kind, 'accept', 'its source is free again');
  a.resumed(12345, 4);
  a.awaiting(12345);
  t.equal(a.handshakes, 1, 'unknown ids change nothing');
});
