// Issue 20: L2TP's PPP data sessions follow their client's path (ike/l2tp-ppp-data.ts): installed on
// every transport child of the path, oldest first so the newest takes the routes; a child that joins
// carries them too; when a child leaves, the newest left takes the routes back; closing detaches
// from every child and frees the driver's session. The driver's own session (native-ppp.ts) is real.
import t from 'tap';
import type { NativePppSession } from '../../../firmware/dataplane/native-ppp.ts';
import { L2tpPaths } from '../../../firmware/ike/l2tp-paths.ts';
import { L2tpPppData, type PppDataCarrier } from '../../../firmware/ike/l2tp-ppp-data.ts';

const spec = { tunnelId: 1, sessionId: 2, peerTunnelId: 3, peerSessionId: 4, localPort: 1701, peerPort: 1701, mtu: 1380, sources: ['10.10.0.5/32'] };

function carrier(refuse = new Set<number>()) {
  const calls: string[] = [];
  const c: PppDataCarrier = {
    attachPppData: (reqid: number, _s: NativePppSession) => (calls.push(`attach ${reqid}`), !refuse.has(reqid)),
    detachPppData: (reqid: number) => void calls.push(`detach ${reqid}`),
  };
  return { c, calls };
}

t.test('a session follows its path: oldest child first, the joining child takes the routes, the newest left takes them back', async (t) => {
  const paths = new L2tpPaths();
  const { c, calls } = carrier();
  const data = new L2tpPppData(paths, () => c);
  const via = paths.add('198.51.100.7:4500', 1);
  paths.add('198.51.100.7:4500', 2);
  const path = data.open(via, spec);
  t.ok(path, 'installed');
  t.same(calls.splice(0), ['attach 1', 'attach 2'], 'on both children, the newest last (it takes the routes)');
  t.match(path?.stats(), { rxPackets: 0n, txPackets: 0n, tunnels: 0n }, 'the driver\'s counters, read without traffic');
  paths.add('198.51.100.7:4500', 3);
  data.joined(via, 3);
  t.same(calls.splice(0), ['attach 3'], 'a new phase 1\'s child carries it too');
  paths.forgetReqid(3);
  data.left();
  t.same(calls.splice(0), ['attach 2'], 'the newest child left takes the routes back');
  data.joined(paths.add('203.0.113.9:4500', 4), 4);
  t.same(calls.splice(0), [], 'another client\'s path does not carry it');
  path?.close();
  t.same(calls.splice(0), ['detach 2', 'detach 1'], 'closed: off every child');
  t.equal(path?.stats(), undefined, 'and released');
  data.left();
  t.same(calls, [], 'a closed session is not attached again');
});

t.test('no data path where the driver cannot carry it: the JavaScript path stays', async (t) => {
  const paths = new L2tpPaths();
  const via = paths.add('198.51.100.7:4500', 1);
  t.equal(new L2tpPppData(paths, () => undefined).open(via, spec), undefined, 'no userspace data plane');
  const { c } = carrier(new Set([1]));
  t.equal(new L2tpPppData(paths, () => c).open(via, spec), undefined, 'no child would take it');
  t.equal(new L2tpPppData(paths, () => carrier().c).open(99, spec), undefined, 'an unknown path');
});
