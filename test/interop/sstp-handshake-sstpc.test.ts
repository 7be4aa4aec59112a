// The TLS and HTTP handshake of SSTP with the real Linux client, sstpc, in the VM lab: every attempt
// must get through over TLS 1.3 to the Call Connect Ack. (sstpc 1.0.18 quits when its first TLS write
// finishes at once; the listener holds its first flight to prevent that: see sstp-listener.ts.) Both
// on Node's TLS and on the driver's (issue 23), which answers once the listener hands the call over.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { VM_CLIENT, vmClientSite } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(vmMissing());
const ATTEMPTS = 8;

// Issue 23: the same attempts against a listener whose calls' TLS runs in the driver (port 444), beside Node's (443).
const PROBES = [{ name: 'sstp-probe', port: 443, driver: false, tls: "Node's TLS" }, { name: 'sstp-probe-c', port: 444, driver: true, tls: "the driver's TLS" }] as const;

t.test(`sstpc gets through the TLS 1.3 and HTTP handshake ${ATTEMPTS} times out of ${ATTEMPTS}, on Node's TLS and on the driver's`, { skip }, async (t) => {
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  // One after the other, each with time to start on a loaded machine.
  const peers: Array<{ peer: LinePeer }> = [];
  for (const p of PROBES) peers.push(await LinePeer.spawn(lab, VM_CLIENT.host, p.name, 'sstp-probe-peer.ts', { name: VM_CLIENT.gateway, port: p.port, driver: p.driver }, 30_000));
  // Each attempt ends once the call is past the Ack (PPP is not the point here): 3 s at most.
  const loop = `for port in ${PROBES.map((p) => p.port).join(' ')}; do for i in $(seq ${ATTEMPTS}); do timeout 3 sstpc --cert-warn --log-level 4 --log-stderr --user alice --password x ${VM_CLIENT.gateway}:$port noauth nodefaultroute nodetach > /tmp/run$i.log 2>&1; if grep -q "CONNECT ACK" /tmp/run$i.log; then echo "$port attempt $i: acked"; else echo "$port attempt $i: failed"; tail -3 /tmp/run$i.log; fi; done; done`;
  const vm = await Vm.boot(lab, VM_CLIENT.host, { address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress, modules: ['ppp_generic', 'ppp_async', 'ppp_synctty'], script: `sh_step attempts '${loop}'` });
  const result = await vm.waitForExit(PROBES.length * ATTEMPTS * 5_000 + 30_000);
  const output = result.steps.get('attempts')?.output ?? result.console;
  PROBES.forEach((probe, i) => {
    const { peer } = peers[i]!;
    t.equal((output.match(new RegExp(`^${probe.port} attempt \\d+: acked`, 'gm')) ?? []).length, ATTEMPTS, `${probe.tls}: every attempt reached the Call Connect Ack:\n${output}`);
    t.equal(peer.events.length, ATTEMPTS, `${probe.tls}: and the server started PPP for each`);
    const calls = readFileSync(peer.daemon.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"SSTP call"'));
    t.equal(calls.filter((l) => l.includes('"tls":"TLSv1.3"') && l.includes(`"driver":${probe.driver}`)).length, ATTEMPTS, `${probe.tls}: all over TLS 1.3`);
  });
});
