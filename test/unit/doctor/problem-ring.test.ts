import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import { ProblemRing, REPEAT_WINDOW_MS } from '../../../firmware/doctor/problem-ring.ts';

const facts = (user: string) => classify({ kind: 'ppp-auth-failure', protocol: 'sstp', user, peer: '192.0.2.1:1' })!;
const siteFacts = (site: string) => classify({ kind: 'ike-log', level: 'warn', msg: 'IKE SA closed: no answer to IKE_SA_INIT request 0 after 5 tries', fields: { connection: `site:${site}` } })!;

t.test('newest first, with a number and the time', async (t) => {
  const ring = new ProblemRing();
  ring.record(facts('alice'), Date.UTC(2026, 0, 1));
  ring.record(facts('bob'), Date.UTC(2026, 0, 2));
  t.match(ring.list(), [{ id: 2, user: 'bob', time: '2026-01-02T00:00:00.000Z' }, { id: 1, user: 'alice', time: '2026-01-01T00:00:00.000Z' }]);
});

t.test('bounded: the oldest go first', async (t) => {
  const ring = new ProblemRing(3);
  for (let i = 0; i < 10; i++) ring.record(facts(`u${i}`), i);
  t.equal(ring.size, 3);
  t.same(ring.list().map((p) => p.user), ['u9', 'u8', 'u7']);
  t.equal(new ProblemRing().list().length, 0);
  t.throws(() => new ProblemRing(0), RangeError);
});

t.test('per user, per site, and only what is new', async (t) => {
  const ring = new ProblemRing();
  ring.record(facts('alice'), 1);
  ring.record(siteFacts('branch'), 2);
  ring.record(facts('bob'), 3);
  ring.record(facts('alice'), 4 + REPEAT_WINDOW_MS); // an hour on: a new entry, not a repeat
  t.same(ring.list({ user: 'alice' }).map((p) => p.id), [4, 1]);
  t.same(ring.list({ site: 'branch' }).map((p) => p.id), [2]);
  t.same(ring.list({ site: 'nowhere' }), []);
  t.same(ring.list({ after: 2 }).map((p) => p.id), [4, 3]);
});

t.test('a repeated refusal is one entry with its count and last time; another cause, person or an hour apart is not', async (t) => {
  const ring = new ProblemRing();
  const minute = 60_000;
  const t0 = Date.UTC(2026, 0, 1, 10);
  const site = siteFacts('branch');
  for (let i = 0; i < 5; i++) ring.record(site, t0 + i * minute);
  ring.record(facts('alice'), t0 + 5 * minute);
  const again = ring.record(site, t0 + 6 * minute);
  t.equal(ring.size, 2, 'six refusals of the site and one of alice: two entries');
  t.match(again, { site: 'branch', count: 6, time: '2026-01-01T10:00:00.000Z', lastTime: '2026-01-01T10:06:00.000Z' });
  t.same(ring.list().map((p) => [p.site ?? p.user, p.count]), [['branch', 6], ['alice', 1]], 'the repeat moves to the front');
  t.same(ring.list({ after: 6 }).map((p) => p.id), [7], 'with a new number: readers of what is new see it');
  t.equal(ring.list({ site: 'branch' }).length, 1);
  // Another stage or cause for the same site is another entry.
  const wrongKey = classify({ kind: 'ike-log', level: 'warn', msg: "IKE_AUTH refused: shared key mismatch for peer 'branch.example' (connection site:branch)", fields: { remote: '203.0.113.9:4500' } })!;
  ring.record(wrongKey, t0 + 7 * minute);
  t.equal(ring.size, 3, 'a different cause for the same site: its own entry');
  // Past the window since the last repeat: a new episode.
  const later = ring.record(site, t0 + 6 * minute + REPEAT_WINDOW_MS + 1);
  t.match(later, { count: 1 });
  t.equal(ring.size, 4);
});

t.test('repeats in a full ring: bounded, and an evicted entry starts afresh', async (t) => {
  const ring = new ProblemRing(2);
  ring.record(facts('alice'), 1);
  ring.record(facts('bob'), 2);
  ring.record(facts('carol'), 3); // alice evicted
  t.match(ring.record(facts('alice'), 4), { count: 1 }, 'alice was evicted: a new entry');
  t.match(ring.record(facts('alice'), 5), { count: 2 });
  t.equal(ring.size, 2);
  t.same(ring.list().map((p) => p.user), ['alice', 'carol']);
});
