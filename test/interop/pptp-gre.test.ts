// PPTP's enhanced GRE data channel in the driver between two lab hosts: PPP frames of a call pass
// both ways in order with their tag, acknowledgements flow without data, a burst of frames arrives
// in order, a third host cannot inject into the call, and a removed call's packets are refused.
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);
const A = '192.0.2.1';
const B = '192.0.2.2';

t.test('PPTP GRE data channel: frames, acknowledgements, order, strangers refused', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const [{ peer: gwA }, { peer: gwB }, { peer: intruder }] = await Promise.all([
    LinePeer.spawn(lab, 'gwA', 'pptp-a', 'pptp-gre-peer.ts', { address: A }),
    LinePeer.spawn(lab, 'gwB', 'pptp-b', 'pptp-gre-peer.ts', { address: B }),
    LinePeer.spawn(lab, 'lanA', 'pptp-x', 'pptp-gre-peer.ts', { address: '10.1.0.10' }),
  ]);
  // Call IDs as PPTP's control connection would have exchanged them: A calls itself 100, B 200.
  await gwA.call('add', 100, 200, B, 7);
  await gwB.call('add', 200, 100, A, 9);

  t.equal(await gwA.call('send', 100, 3, 60), 3, 'A sends three frames');
  await waitUntil('three frames at B', 5000, async () => (await gwB.call('received')).frames === 3);
  const atB = await gwB.call('received');
  t.match(atB, { frames: 3, bytes: 180, tags: [9], inOrder: true }, 'B got them whole, in order, tagged with its call');
  await waitUntil('B\'s acknowledgement at A', 5000, async () => (await gwA.call('stats')).acksReceived >= 1);
  t.ok((await gwB.call('stats')).acksSent >= 1, 'B, with nothing to send, acknowledged alone');

  t.equal(await gwB.call('send', 200, 2, 100), 2, 'B answers with two frames');
  await waitUntil('two frames at A', 5000, async () => (await gwA.call('received')).frames === 2);
  t.match(await gwA.call('received'), { frames: 2, tags: [7], inOrder: true }, 'A got them, tagged with its call');

  // A burst the size of a large download's window: every frame that arrives is in order.
  const burst = 5000;
  const before = (await gwB.call('received')).frames;
  const started = Date.now();
  t.equal(await gwA.call('send', 100, burst, 1400), burst, `A sends ${burst} frames of 1,400 bytes`);
  await waitUntil('the burst at B', 10_000, async () => (await gwB.call('received')).frames - before >= burst * 0.99);
  const seconds = (Date.now() - started) / 1000;
  const burstAtB = await gwB.call('received');
  const statsB = await gwB.call('stats');
  t.ok(burstAtB.inOrder && statsB.outOfOrder === 0, `${burstAtB.frames - before} of ${burst} frames arrived, in order (${((burst * 1400 * 8) / seconds / 1e6).toFixed(0)} Mbit/s end to end through JavaScript at both ends)`);

  // Another host sends into B's call 200 (it knows the call ID): refused, counted.
  await intruder.call('add', 100, 200, B, 1);
  await intruder.call('send', 100, 3, 60);
  await waitUntil('the intruder counted at B', 5000, async () => (await gwB.call('stats')).wrongPeer >= 3);
  t.equal((await gwB.call('received')).frames, burstAtB.frames, 'nothing from a third host reached the call');

  t.equal(await gwB.call('remove', 200), true, 'B ends the call');
  await gwA.call('send', 100, 2, 60);
  await waitUntil('the ended call\'s packets counted', 5000, async () => (await gwB.call('stats')).unknownCall >= 2);
  t.equal((await gwB.call('received')).frames, burstAtB.frames, 'and its packets no longer come up');
});
