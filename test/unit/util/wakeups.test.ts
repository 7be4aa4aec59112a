// The engines' per-SA wake-ups (util/wakeups.ts): a nearer deadline replaces the held one, a later one
// waits for it, a closed SA is never due, and each due SA is handed out once.
import t from 'tap';
import { Wakeups } from '../../../firmware/util/wakeups.ts';

t.test('nearer replaces, later waits, closed dropped, due once', async (t) => {
  type Sa = { name: string; state: string; wakeAt?: number };
  const w = new Wakeups<Sa>();
  const a: Sa = { name: 'a', state: 'established' };
  const b: Sa = { name: 'b', state: 'established' };
  const c: Sa = { name: 'c', state: 'established' };
  w.schedule(a, 100);
  w.schedule(a, 50);
  t.equal(w.next(), 50, 'a nearer deadline counts');
  w.schedule(a, 500);
  t.equal(a.wakeAt, 50, 'a later one waits for the held entry');
  w.schedule(b, 70);
  w.schedule(c, 60);
  c.state = 'closed';
  w.schedule(b, undefined);
  t.same(w.takeDue(80).map((x) => x.name), ['a', 'b'], 'due in order; the closed one dropped; the stale 100 not yet');
  t.equal(a.wakeAt, undefined);
  t.same(w.takeDue(1000).map((x) => x.name), [], 'the stale entry at 100 hands nothing out');
  t.equal(w.next(), undefined);
});
