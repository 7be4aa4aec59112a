// The L2TP clients' paths (issue 20): two laptops behind one NAT (one address, two NAT-T ports) are
// two paths; one client's next child (a new phase 1 from the same endpoint) stays on its path, and
// answers try its newest child first; children gone are forgotten, and so is a path left empty.
import t from 'tap';
import { L2tpPaths } from '../../../firmware/ike/l2tp-paths.ts';

t.test('paths by outer endpoint, children newest first', async (t) => {
  const paths = new L2tpPaths();
  const a = paths.add('198.51.100.7:4500', 1);
  const b = paths.add('198.51.100.7:29532', 2);
  t.not(a, b, 'two laptops behind one NAT: two paths');
  t.equal(paths.add('198.51.100.7:4500', 1), a, 'a Quick Mode rekey (same reqid) changes nothing');
  t.equal(paths.add('198.51.100.7:4500', 3), a, 'a new phase 1 from the same endpoint: the same path');
  t.same(paths.reqidsOf(a), [3, 1], 'its newest child first');
  t.same(paths.reqidsOf(b), [2]);
  t.equal(paths.forget(a, 3), false, 'a child gone is forgotten, the path stays');
  t.same(paths.reqidsOf(a), [1]);
  t.equal(paths.forget(a, 1), true, 'the last one too: the path goes (its tunnels are told to close)');
  t.same(paths.reqidsOf(a), []);
  t.equal(paths.forget(a, 1), false, 'once');
  t.equal(paths.size, 1, 'and the empty path with it');
  t.not(paths.add('198.51.100.7:4500', 4), a, 'the endpoint coming back gets a new path (its old tunnel is gone)');
  const c = paths.add('192.0.2.50:4500', 5);
  const d = paths.add('192.0.2.51:4500', 6);
  paths.add('192.0.2.51:4500', 7);
  t.same(paths.forgetReqid(5), [c], 'a deleted child is forgotten by reqid, wherever it was; its path went with it');
  t.same(paths.reqidsOf(c), []);
  t.same(paths.forgetReqid(6), [], 'a path with a child left stays');
  t.same(paths.forgetReqid(7), [d]);
  paths.clear();
  t.equal(paths.size, 0, 'cleared when IKE stops');
});
