import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import { ProblemRing } from '../../../firmware/doctor/problem-ring.ts';

const facts = (user: string) => classify({ kind: 'sstp-auth-failure', user, peer: '192.0.2.1:1' })!;
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
  ring.record(facts('alice'), 4);
  t.same(ring.list({ user: 'alice' }).map((p) => p.id), [4, 1]);
  t.same(ring.list({ site: 'branch' }).map((p) => p.id), [2]);
  t.same(ring.list({ site: 'nowhere' }), []);
  t.same(ring.list({ after: 2 }).map((p) => p.id), [4, 3]);
});
