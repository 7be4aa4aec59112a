// The VM lab: a qemu guest with the real PPP clients boots into a lab namespace through a tap, talks to
// that namespace only, loads the PPP, GRE, L2TP and ESP modules the SSTP, PPTP and L2TP/IPsec interop
// tests need, reports each command's status on its console, powers off; qemu never outlives the lab.
import t from 'tap';
import { processGone, runSync } from '../lab/command.ts';
import { VM_CLIENT, vmClientSite } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { vmImage } from '../lab/vm/image-builder.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(vmMissing());

const MODULES = ['ppp_generic', 'ppp_async', 'ppp_mppe', 'pppox', 'gre', 'pptp', 'l2tp_core', 'l2tp_ppp', 'esp4', 'xfrm_user'];

// Waits (bounded) until the guest has answered `n` echo requests from the lab host: the host pings
// while the script is still running, and the guest's own counter confirms that the pings reached it.
const waitForEchoRequests = (n: number) => `for _ in $(seq 300); do
  c=$(awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") f = i; h = 1 } else print $f }' /proc/net/snmp)
  if [ "$c" -ge ${n} ]; then echo "echo requests in: $c"; exit 0; fi
  sleep 0.1
done
echo "echo requests in: $c"
exit 1
`;

const SCRIPT = [
  `step guest-ping ping -c 3 -W 2 ${VM_CLIENT.gateway}`,
  'step pppd-version pppd --version',
  'step sstpc-version sstpc --version',
  'step pptp-version pptp --version',
  'step xl2tpd-version xl2tpd -v',
  ...MODULES.map((m) => `step modprobe-${m} modprobe ${m}`),
  'step host-pings bash /lab/wait-echo.sh',
  'exit 7',
].join('\n');

t.test('the lab image is built once, then taken from the cache', { skip }, async (t) => {
  const first = vmImage();
  t.comment(`image ${first.key}: ${first.built ? `built in ${first.ms} ms` : `cached (${first.ms} ms)`}, ${(first.bytes / 1e6).toFixed(1)} MB (vmlinux + initramfs)`);
  const second = vmImage();
  t.equal(second.key, first.key, 'same key for the same packages');
  t.equal(second.built, false, 'no rebuild');
  t.ok(second.ms < 1000, `the cached image is found in ${second.ms} ms`);
});

t.test('a qemu guest in a lab namespace: ping both ways, the PPP clients run, the modules load', { skip }, async (t) => {
  const started = Date.now();
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  const vm = await Vm.boot(lab, VM_CLIENT.host, {
    address: VM_CLIENT.guestAddress,
    hostAddress: VM_CLIENT.hostAddress,
    script: SCRIPT,
    files: { '/lab/wait-echo.sh': waitForEchoRequests(3) },
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);
  t.ok(vm.bootMs < 30_000, `booted in ${vm.bootMs} ms`);

  const ping = await lab.exec(VM_CLIENT.host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', VM_CLIENT.guest], 15_000);
  t.equal(ping.code, 0, `the namespace pings the guest:\n${ping.stdout}${ping.stderr}`);
  t.match(ping.stdout, /3 packets transmitted, 3 received/, 'three replies from the guest');

  const result = await vm.waitForExit(60_000);
  const failed = `\n${result.console}`;
  t.equal(result.exitCode, 7, `the script's own exit status comes back${failed}`);
  t.equal(vm.exitCode, 7, 'also as vm.exitCode');

  const guestPing = result.steps.get('guest-ping');
  t.equal(guestPing?.code, 0, `the guest pings the namespace${failed}`);
  t.match(guestPing?.output ?? '', /3 packets transmitted, 3 packets received/, 'three replies to the guest');
  t.equal(result.steps.get('host-pings')?.code, 0, 'the guest counted the namespace\'s echo requests');
  t.match(result.steps.get('host-pings')?.output ?? '', /echo requests in: [3-9]/);

  t.match(result.steps.get('pppd-version'), { code: 0, output: /pppd version 2\.\d/ }, 'pppd runs in the guest');
  t.match(result.steps.get('sstpc-version'), { code: 0, output: /sstp-client version \d/ }, 'sstpc runs in the guest');
  t.match(result.steps.get('pptp-version'), { code: 0, output: /pptp version \d/ }, 'pptp runs in the guest');
  t.match(result.steps.get('xl2tpd-version')?.output ?? '', /xl2tpd-\d/, 'xl2tpd runs in the guest');
  for (const m of MODULES) t.equal(result.steps.get(`modprobe-${m}`)?.code, 0, `modprobe ${m}`);

  const pid = vm.daemon.pid;
  t.ok(processGone(pid), 'qemu exited with the guest');
  t.notOk(runSync(['ip', '-n', lab.ns(VM_CLIENT.host), 'link', 'show', 'dev', vm.tap]).code === 0, 'the tap is removed');
  const total = Date.now() - started;
  t.comment(`boot + script + power-off in ${total} ms`);
  t.ok(total < 60_000, `whole session in ${total} ms`);
});

t.test('a guest still running when the lab is torn down: qemu is killed, the tap goes with the namespace', { skip }, async (t) => {
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  const vm = await Vm.boot(lab, VM_CLIENT.host, { address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress, script: 'step forever sleep 600' });
  await vm.waitFor(/^@@STEP forever BEGIN/m, 10_000);
  t.ok(vm.running, 'the guest runs');
  t.ok(lab.pids().includes(vm.daemon.pid), 'qemu is in the lab record');
  const ns = lab.ns(VM_CLIENT.host);
  lab.teardown();
  t.ok(processGone(vm.daemon.pid), 'qemu killed by the teardown');
  t.notOk(runSync(['ip', 'netns', 'list']).stdout.includes(ns), 'the namespace (and its tap) removed');
  vm.stop(); // harmless afterwards
});
