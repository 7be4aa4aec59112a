// Accounting-On/Off (issue 21): one On per NAS and process, sent by the first listener to open
// RADIUS; none when a listener reopens; an Off through an open listener when the gateway stops.
import t from 'tap';
import { Attr } from '../../../firmware/radius/attributes.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { NasPower } from '../../../firmware/radius/nas-power.ts';

const statusOf = (attributes: readonly RadiusAttribute[]) => {
  const a = attributes.find((x) => x.type === Attr.AcctStatusType);
  return a ? Buffer.from(a.value).readUInt32BE(0) : undefined;
};
const textOf = (attributes: readonly RadiusAttribute[], type: number) => {
  const a = attributes.find((x) => x.type === type);
  return a ? Buffer.from(a.value).toString() : undefined;
};

function sender(answer = true) {
  const sent: RadiusAttribute[][] = [];
  return { sent, send: async (attributes: readonly RadiusAttribute[]) => { sent.push([...attributes]); return answer; } };
}

t.test('one Accounting-On per NAS, from the first listener that opens RADIUS', async (t) => {
  const power = new NasPower(() => 1_700_000_000_000);
  const sstp = sender();
  const l2tp = sender();
  power.opened({ identifier: 'branch-17' }, sstp);
  power.opened({ identifier: 'branch-17' }, l2tp);
  t.equal(sstp.sent.length, 1, 'the first listener sends it');
  t.equal(statusOf(sstp.sent[0]!), 7, 'Acct-Status-Type Accounting-On (RFC 2866 §5.1)');
  t.equal(textOf(sstp.sent[0]!, Attr.NasIdentifier), 'branch-17', 'with the NAS identity');
  t.equal(textOf(sstp.sent[0]!, Attr.AcctSessionId), undefined, 'and no session');
  t.equal(l2tp.sent.length, 0, 'the second does not');
  power.closed({ identifier: 'branch-17' }, sstp);
  power.opened({ identifier: 'branch-17' }, sstp);
  t.equal(sstp.sent.length, 1, 'a listener reopened by a configuration change sends none: the others\' sessions are up');
  const other = sender();
  power.opened({ identifier: 'renamed' }, other);
  t.equal(statusOf(other.sent[0]!), 7, 'a new NAS identity is announced on its own');
});

t.test('Accounting-Off through an open listener when the gateway stops, bounded in time', async (t) => {
  const power = new NasPower();
  const open = sender();
  const gone = sender();
  power.opened({ identifier: 'branch-17' }, gone);
  power.opened({ identifier: 'branch-17' }, open);
  power.closed({ identifier: 'branch-17' }, gone);
  await power.stopping();
  t.equal(open.sent.filter((a) => statusOf(a) === 8).length, 1, 'Accounting-Off (8) through the listener still open');
  t.equal(gone.sent.filter((a) => statusOf(a) === 8).length, 0, 'not through one already closed');
  const stuck = new NasPower();
  stuck.opened({ identifier: 'x' }, { send: () => new Promise<boolean>(() => {}) });
  const started = Date.now();
  await stuck.stopping(50);
  t.ok(Date.now() - started < 1000, 'a server that never answers does not hold the stop up');
  const none = new NasPower();
  await none.stopping(10);
  t.pass('nothing to say without RADIUS');
});
