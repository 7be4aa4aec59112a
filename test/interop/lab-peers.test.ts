// The lab's launchers for real peers each start, answer, and go away with their lab.
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const missing = ['mosquitto', 'mosquitto_pub', 'freeradius', 'radclient', 'iperf3'].filter((b) => !hasBinary(b));
const skip = labSkip(!isRoot() ? 'needs root' : missing.length ? `not installed: ${missing.join(', ')}` : false);

/** A server host and a client host on one link. */
const pair: TopologySpec = {
  hosts: { server: {}, client: {} },
  links: { net0: { a: ['server', '10.9.0.1/24'], b: ['client', '10.9.0.2/24'] } },
};

t.test('mosquitto: authenticated publish reaches a subscriber; a wrong password is refused', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  await Mosquitto.start(lab, 'server', { address: '10.9.0.1', users: { fleet: 'Fleet-Pass-1' } });
  const auth = ['-h', '10.9.0.1', '-u', 'fleet', '-P', 'Fleet-Pass-1'];
  const sub = lab.exec('client', ['mosquitto_sub', ...auth, '-t', 'postern/test', '-C', '1', '-W', '5']);
  // The subscriber needs a moment to subscribe; a retained message removes the race.
  const pub = await lab.exec('client', ['mosquitto_pub', ...auth, '-t', 'postern/test', '-r', '-m', 'hello lab']);
  t.equal(pub.code, 0, pub.stderr);
  const got = await sub;
  t.equal(got.stdout.trim(), 'hello lab');
  const bad = await lab.exec('client', ['mosquitto_pub', '-h', '10.9.0.1', '-u', 'fleet', '-P', 'wrong', '-t', 'x', '-m', 'y']);
  t.not(bad.code, 0, 'wrong password refused');
  t.match(bad.stderr, /not authori[sz]ed|Connection Refused/i);
});

t.test('FreeRADIUS: Access-Accept with reply attributes, Access-Reject, accounting answered', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  await FreeRadius.start(lab, 'server', {
    address: '10.9.0.1',
    clients: [{ name: 'lab', network: '10.9.0.0/24', secret: 'radius-secret' }],
    users: [{ name: 'alice', password: 'Alice-Pass-1', reply: { 'Framed-IP-Address': '10.10.0.5' } }],
  });
  const ask = (attrs: string, port = '1812', kind = 'auth') =>
    lab.exec('client', ['sh', '-c', `echo '${attrs}' | radclient -x -r 1 -t 2 10.9.0.1:${port} ${kind} radius-secret`]);
  const ok = await ask('User-Name=alice,User-Password=Alice-Pass-1');
  t.match(ok.stdout, /Received Access-Accept/);
  t.match(ok.stdout, /Framed-IP-Address = 10\.10\.0\.5/);
  const bad = await ask('User-Name=alice,User-Password=nope');
  t.match(bad.stdout, /Received Access-Reject/);
  const acct = await ask('User-Name=alice,Acct-Status-Type=Start,Acct-Session-Id=lab-1', '1813', 'acct');
  t.match(acct.stdout, /Received Accounting-Response/);
});

t.test('iperf3 across a veth reports a throughput figure', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  const r = await iperf3(lab, { host: 'server', address: '10.9.0.1' }, 'client', { seconds: 1 });
  t.ok(r.mbitPerSecond > 100, `${r.mbitPerSecond.toFixed(0)} Mbit/s over plain veth`);
  t.comment(`veth: ${r.mbitPerSecond.toFixed(0)} Mbit/s, sender CPU ${r.senderCpuPercent.toFixed(0)}%`);
});
