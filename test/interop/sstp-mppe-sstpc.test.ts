// MPPE (RFC 3078) against the real thing: pppd in the VM, with `require-mppe-128`, encrypts with the
// kernel's ppp_mppe over sstpc; Postern (listeners.sstp.mppe = require) negotiates it in CCP, decrypts
// and encrypts every IP packet (in JavaScript, over the driver's TLS: issue 23 leaves MPPE inside SSTP
// there, logged). A client that refuses MPPE is turned away cleanly.
import t from 'tap';
import { sstpcDialScript, startSstpGateway } from '../helpers/sstp-lab.ts';
import { VM_CLIENT, vmClientSite } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(vmMissing());
const PASSWORD = 'Correct-Horse-Battery-8';

const SCRIPT = [
  `sh_step dial 'dial alice ${PASSWORD} 1 "require-mppe-128 logfile /tmp/pppd-1.log"'`,
  "sh_step mppe 'grep -i mppe /tmp/pppd-1.log'",
  "sh_step route 'ip route add 10.2.0.0/24 dev ppp0'",
  'step ping ping -c 5 -i 0.2 -W 2 10.2.0.10',
  "sh_step transfer 'dd if=/dev/urandom bs=64k count=32 2>/dev/null | socat -u - TCP:10.2.0.10:5001'",
  "sh_step counters 'cat /sys/class/net/ppp0/statistics/tx_packets /sys/class/net/ppp0/statistics/rx_packets'",
  'sh_step hangup hangup',
  `sh_step refused 'dial alice ${PASSWORD} 2 "nomppe logfile /tmp/pppd-2.log"; rc=$?; grep -i -E "mppe|ccp|terminat" /tmp/pppd-2.log | head -5; exit $rc'`,
].join('\n');

t.test('pppd with require-mppe-128 over sstpc: MPPE 128-bit stateless both ways; a client refusing MPPE is refused', { skip }, async (t) => {
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  const { log } = await startSstpGateway(lab, PASSWORD, (config) => {
    config.listeners.sstp.mppe = 'require';
  });
  lab.spawnDaemon('lanB', 'sink', ['socat', '-u', 'TCP-LISTEN:5001,reuseaddr', 'OPEN:/dev/null']);
  const vm = await Vm.boot(lab, VM_CLIENT.host, {
    address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress,
    modules: ['ppp_generic', 'ppp_async', 'ppp_synctty', 'ppp_mppe'],
    files: { '/lab/dial.sh': sstpcDialScript() },
    script: `. /lab/dial.sh\n${SCRIPT}`,
  });
  const result = await vm.waitForExit(120_000);
  const step = (name: string) => result.steps.get(name);
  const why = `\n--- guest ---\n${result.console.slice(-3000)}\n--- postern ---\n${log().split('\n').slice(-30).join('\n')}`;
  t.equal(step('dial')?.code, 0, `connected${why}`);
  t.match(step('mppe')?.output ?? '', /MPPE 128-bit stateless compression enabled/, 'pppd reports MPPE 128-bit stateless');
  t.equal(step('ping')?.code, 0, `the LAN host answers through MPPE: ${step('ping')?.output}`);
  t.equal(step('transfer')?.code, 0, `2 MB of random data crosses: ${step('transfer')?.output}`);
  t.equal(step('hangup')?.code, 0, 'hangs up');
  t.not(step('refused')?.code, 0, `a client refusing MPPE does not connect: ${step('refused')?.output}`);
  const text = log();
  t.match(text, /"send":128,"receive":128,"stateless":true.*"msg":"PPP: MPPE on"/, 'Postern turned MPPE on, 128-bit stateless');
  t.match(text, /MPPE required/, 'and ended the second link because MPPE was required');
  // Issue 23: the call's TLS runs in the driver (the default); with MPPE its IP stays in JavaScript, logged with why.
  t.match(text, /"driver":true[^\n]*"msg":"SSTP call"/, 'the call\'s TLS ran in the driver');
  t.match(text, /"why":"MPPE inside SSTP is on[^"]*"[^\n]*"msg":"SSTP call's IP stays in JavaScript"/, 'and its IP stayed in JavaScript, where MPPE is, logged with the reason');
});
