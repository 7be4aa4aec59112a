// The TLS and HTTP handshake of SSTP with the real Linux client, sstpc, in the VM lab: every attempt
// must get through over TLS 1.3 to the Call Connect Ack. (sstpc 1.0.18 quits when its first TLS write
// finishes at once; the listener holds its first flight to prevent that: see sstp-listener.ts.)
import { readFileSync } from 'node:fs';
import t from 'tap';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { VM_CLIENT, vmClientSite } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(vmMissing());
const ATTEMPTS = 8;

t.test(`sstpc gets through the TLS 1.3 and HTTP handshake ${ATTEMPTS} times out of ${ATTEMPTS}`, { skip }, async (t) => {
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  const { peer } = await LinePeer.spawn(lab, VM_CLIENT.host, 'sstp-probe', 'sstp-probe-peer.ts', { name: VM_CLIENT.gateway, port: 443 });
  // Each attempt ends once the call is past the Ack (PPP is not the point here): 3 s at most.
  const loop = `for i in $(seq ${ATTEMPTS}); do timeout 3 sstpc --cert-warn --log-level 4 --log-stderr --user alice --password x ${VM_CLIENT.gateway} noauth nodefaultroute nodetach > /tmp/run$i.log 2>&1; if grep -q "CONNECT ACK" /tmp/run$i.log; then echo "attempt $i: acked"; else echo "attempt $i: failed"; tail -3 /tmp/run$i.log; fi; done`;
  const vm = await Vm.boot(lab, VM_CLIENT.host, { address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress, modules: ['ppp_generic', 'ppp_async', 'ppp_synctty'], script: `sh_step attempts '${loop}'` });
  const result = await vm.waitForExit(ATTEMPTS * 5_000 + 30_000);
  const output = result.steps.get('attempts')?.output ?? result.console;
  t.equal((output.match(/: acked/g) ?? []).length, ATTEMPTS, `every attempt reached the Call Connect Ack:\n${output}`);
  t.equal(peer.events.length, ATTEMPTS, 'and the server started PPP for each');
  const log = readFileSync(peer.daemon.logFile, 'utf8');
  const calls = log.split('\n').filter((l) => l.includes('"msg":"SSTP call"'));
  t.equal(calls.filter((l) => l.includes('"tls":"TLSv1.3"')).length, ATTEMPTS, 'all over TLS 1.3');
});
