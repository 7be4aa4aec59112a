// The shared TUN serves sessions whose protocol runs in JavaScript (PPP over SSTP's TLS): packets to
// their routes come up through the hub's pipe in batches and answers go back into the same TUN.
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(isRoot() ? false : 'needs root');

for (const offload of [true, false]) {
  t.test(`pings answered by JavaScript sessions through the pipe (TUN offloads ${offload ? 'on' : 'off'})`, { skip }, async (t) => {
    const lab = Lab.create(twoSitesDirect);
    t.teardown(() => lab.teardown());
    const { peer } = await LinePeer.spawn(lab, 'gwA', 'hub-pipe', 'hub-pipe-peer.ts', { name: 'pe0', address: '10.99.0.1', prefixLength: 16, offload });
    t.equal(await peer.command('route 10.99.0.2/32 5'), 'ok route');
    t.equal(await peer.command('route 10.99.1.0/24 6'), 'ok route');
    const one = await lab.exec('gwA', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.99.0.2']);
    t.match(one.stdout, /5 received/, `a session's address answers: ${one.stdout}${one.stderr}`);
    const subnet = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1300', '10.99.1.77']);
    t.match(subnet.stdout, /3 received/, 'a session\'s subnet too, with large packets');
    const flood = await lab.exec('gwA', ['ping', '-f', '-c', '2000', '-W', '1', '10.99.0.2'], 30_000);
    const answered = Number(/(\d+) received/.exec(flood.stdout)?.[1] ?? 0);
    t.ok(answered >= 1990, `a flood ping: ${answered} of 2000 answered`);
    let stats = JSON.parse((await peer.command('stats')).replace(/^stats /, '')) as Record<string, number> & { perTag: Record<string, number> };
    t.ok(stats.perTag['5']! >= 2000 && stats.perTag['6'] === 3, `each packet reached its own session: ${JSON.stringify(stats.perTag)}`);
    t.equal(stats.delivered, stats.queued, 'everything queued was delivered');
    t.equal(await peer.command('unroute 5'), 'ok unroute');
    const gone = await lab.exec('gwA', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.99.0.2']);
    t.match(gone.stdout, /0 received/, 'an unrouted session gets nothing');
    stats = JSON.parse((await peer.command('stats')).replace(/^stats /, '')) as typeof stats;
    t.ok((stats.noRoute ?? 0) >= 2, 'and its packets are counted as unroutable');
  });
}
