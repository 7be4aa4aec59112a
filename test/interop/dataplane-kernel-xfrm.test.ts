// The kernel XFRM back end against the kernel itself, inside a lab namespace: SPIs reserved, policies
// in and out (read back with iproute2), the kernel's acquire decoded when traffic meets a policy with
// no SA, SAs installed where the kernel has ESP and refused with the kernel's reason where it has not
// (this host), and the choice of back end that follows from it.
import { randomBytes } from 'node:crypto';
import { release } from 'node:os';
import t from 'tap';
import { defaultProbePaths, probeKernelEsp } from '../../firmware/dataplane/kernel-support.ts';
import { chooseDataPlane } from '../../firmware/dataplane/select.ts';
import type { PolicySpec } from '../../firmware/dataplane/types.ts';
import { isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(!isRoot() ? 'needs root' : false);
const A = '192.0.2.1';
const B = '192.0.2.2';
const attempt = (peer: LinePeer, name: string, ...args: unknown[]) => peer.command(JSON.stringify({ call: name, args }));

const out: PolicySpec = { source: { prefix: '10.1.0.0/24' }, destination: { prefix: '10.2.0.0/24' }, direction: 'out', action: 'protect', priority: 1000, template: { source: A, destination: B, mode: 'tunnel', reqid: 42 } };
const inbound: PolicySpec = { source: { prefix: '10.2.0.0/24' }, destination: { prefix: '10.1.0.0/24' }, direction: 'fwd', action: 'protect', priority: 1000, template: { source: B, destination: A, mode: 'tunnel', reqid: 42 } };

t.test('kernel XFRM back end: SPIs, policies, acquires, SAs as far as the kernel has ESP', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const { peer: gwA, ready } = await LinePeer.spawn(lab, 'gwA', 'xfrm-a', 'dataplane-peer.ts', { backEnd: 'kernel-xfrm', address: A, tunnelAddress: '10.1.0.1' });
  t.equal(ready, 'ready kernel-xfrm');

  const spi = await gwA.call('allocateSpi', B, A);
  t.ok(spi >= 0x100, `the kernel reserved SPI ${spi.toString(16)}`);
  t.match(lab.execSync('gwA', ['ip', 'xfrm', 'state']), new RegExp(`spi 0x${spi.toString(16).padStart(8, '0')}`), 'iproute2 sees the reservation');
  t.same(await gwA.call('querySa', { spi, destination: A }), { packets: 0, bytes: 0, replayDrops: 0, authFailures: 0 }, 'its counters read back through GETSA');

  await gwA.call('addPolicy', out);
  await gwA.call('addPolicy', inbound);
  const policies = lab.execSync('gwA', ['ip', 'xfrm', 'policy']);
  t.match(policies, /src 10\.1\.0\.0\/24 dst 10\.2\.0\.0\/24\s+dir out priority 1000[\s\S]*tmpl src 192\.0\.2\.1 dst 192\.0\.2\.2\s+proto esp reqid 42 mode tunnel/, 'the outbound policy is in the kernel with its template');
  t.match(policies, /src 10\.2\.0\.0\/24 dst 10\.1\.0\.0\/24\s+dir fwd priority 1000/, 'and the forward policy');
  t.match(await attempt(gwA, 'addPolicy', out), /^error POSTERN_ERR_DATAPLANE_EXISTS .*EEXIST/, 'a duplicate policy: the kernel\'s EEXIST as a stable code');

  // lanA's traffic to lanB meets the outbound policy in gwA's forwarding path: the kernel asks for an SA.
  lab.execSync('gwA', ['ip', 'route', 'replace', '10.2.0.0/24', 'via', B]); // the route an IKE daemon installs beside its policies
  await lab.exec('lanA', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.2.0.10']);
  const acquire = await gwA.waitEvent((e) => e['type'] === 'acquire', 5000);
  t.match((await gwA.call('stats')).backEnd, { policies: 2, acquires: 1 }, 'the back end counts its policies and the acquire');
  t.match(acquire, { reqid: 42, policy: { direction: 'out', source: { prefix: '10.1.0.0/24' }, destination: { prefix: '10.2.0.0/24' } } }, 'the kernel\'s acquire, decoded: the policy and its reqid');

  const sa = {
    spi, source: B, destination: A, direction: 'in', mode: 'tunnel', suite: 'aes-gcm-128', keys: { encryption: randomBytes(20).toString('hex') },
    esn: true, replayWindow: 1024, reqid: 42, lifetime: { softPackets: 1000, hardPackets: 2000 },
  };
  const esp = probeKernelEsp(defaultProbePaths(release())).esp;
  if (esp) {
    await gwA.call('addSa', sa);
    t.match(lab.execSync('gwA', ['ip', 'xfrm', 'state']), /aead rfc4106\(gcm\(aes\)\)/, 'the SA is in the kernel with its AEAD');
    await gwA.call('deleteSa', { spi, destination: A });
  } else {
    t.match(await attempt(gwA, 'addSa', sa), /^error POSTERN_ERR_DATAPLANE_INVALID add SA .*: the kernel said E[A-Z]+/, 'no ESP in this kernel: the SA is refused with the kernel\'s reason');
    t.match(chooseDataPlane(), { backEnd: 'userspace' }, 'so Postern chooses the userspace back end here');
    await gwA.call('deleteSa', { spi, destination: A }); // the reservation
  }
  t.equal(await gwA.call('querySa', { spi, destination: A }), null, 'the SA is gone');
  t.match(await attempt(gwA, 'deleteSa', { spi, destination: A }), /^error POSTERN_ERR_DATAPLANE_NOT_FOUND/, 'deleting it twice: not found');

  await gwA.call('deletePolicy', out);
  await gwA.call('deletePolicy', inbound);
  t.equal(lab.execSync('gwA', ['ip', 'xfrm', 'policy']).trim(), '', 'no policy left in the kernel');
  t.match(await attempt(gwA, 'deletePolicy', out), /^error POSTERN_ERR_DATAPLANE_NOT_FOUND/, 'deleting a policy twice: not found');
});
