// SSTP end to end with the real Linux client: `postern run` is the gateway in a lab namespace; sstpc
// and pppd run in the VM lab's guest. The client authenticates with MS-CHAPv2, the crypto binding is
// verified, it gets a pool address, pings a LAN host, moves 10 MB, disconnects cleanly, reconnects;
// a wrong password is refused cleanly.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { VM_CLIENT, vmClientSite } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';

const skip = vmMissing() ?? false;
const PASSWORD = 'Correct-Horse-Battery-7';

/** A guest shell function: dial with sstpc and wait (bounded) until ppp0 has its address. */
const DIAL = `dial() {
  sstpc --cert-warn --log-level 3 --log-stderr --user "$1" --password "$2" ${VM_CLIENT.gateway} \\
    require-mschap-v2 refuse-eap refuse-pap refuse-chap noauth nodefaultroute usepeerdns nodetach > /tmp/sstpc-$3.log 2>&1 &
  echo $! > /tmp/sstpc.pid
  for _ in $(seq 150); do
    if ip -4 addr show ppp0 2>/dev/null | grep -q inet; then ip -4 addr show ppp0 | grep inet; return 0; fi
    if ! kill -0 "$(cat /tmp/sstpc.pid)" 2>/dev/null; then echo "sstpc exited"; tail -20 /tmp/sstpc-$3.log; return 1; fi
    sleep 0.2
  done
  echo "no address on ppp0 in 30 s"; tail -20 /tmp/sstpc-$3.log; return 1
}
hangup() {
  kill "$(cat /tmp/sstpc.pid)"
  for _ in $(seq 50); do kill -0 "$(cat /tmp/sstpc.pid)" 2>/dev/null || return 0; sleep 0.2; done
  echo "sstpc did not exit"; return 1
}
export -f dial hangup
`;

const SCRIPT = [
  `sh_step dial-1 'dial alice ${PASSWORD} 1'`,
  'sh_step route \'ip route add 10.2.0.0/24 dev ppp0 && cat /etc/ppp/resolv.conf 2>/dev/null; true\'',
  'step ping ping -c 3 -W 2 10.2.0.10',
  'sh_step transfer \'start=${EPOCHREALTIME/./}; dd if=/dev/zero bs=64k count=160 2>/dev/null | socat -u - TCP:10.2.0.10:5001; rc=$?; end=${EPOCHREALTIME/./}; echo "ms=$(( (end - start) / 1000 ))"; exit $rc\'',
  'sh_step hangup-1 hangup',
  'sh_step gone \'! ip link show ppp0 2>/dev/null\'',
  `sh_step dial-2 'dial alice ${PASSWORD} 2'`,
  'sh_step route-2 \'ip route add 10.2.0.0/24 dev ppp0\'',
  'step ping-2 ping -c 2 -W 2 10.2.0.10',
  'sh_step hangup-2 hangup',
  'sh_step wrong \'dial alice Wrong-Password-0 3; rc=$?; grep -i -E "auth|fail|abort|terminat" /tmp/sstpc-3.log | head -5; exit $rc\'',
].join('\n');

t.test('sstpc in a VM: MS-CHAPv2, crypto binding, a pool address, ping, 10 MB, disconnect, reconnect, wrong password', { skip }, async (t) => {
  const lab = Lab.create(vmClientSite);
  t.teardown(() => lab.teardown());
  const state = lab.subdir('postern-state');
  const config = defaultConfig();
  config.system.wan = { interface: 'tap-vm', mode: 'dhcp' }; // SSTP then listens on every address of the namespace
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [{ name: 'alice', password: PASSWORD, enabled: true }];
  config.certificates.server = { commonName: VM_CLIENT.gateway, sans: [VM_CLIENT.gateway] };
  config.listeners.ikev2.enabled = false;
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: ['10.2.0.53'] }];
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'test' });
  const service = lab.spawnDaemon(VM_CLIENT.host, 'postern', [process.execPath, '--import', 'tsx', resolve('firmware/main.ts'), 'run', '--state', state], cleanEnv());
  const log = () => (existsSync(service.logFile) ? readFileSync(service.logFile, 'utf8') : '');
  await waitUntil('Postern listens for SSTP', 20_000, () => log().includes('SSTP listening'));
  const sink = lab.spawnDaemon('lanB', 'sink', ['socat', '-u', 'TCP-LISTEN:5001,reuseaddr', 'OPEN:/dev/null']);
  void sink;

  const vm = await Vm.boot(lab, VM_CLIENT.host, {
    address: VM_CLIENT.guestAddress, hostAddress: VM_CLIENT.hostAddress,
    modules: ['ppp_generic', 'ppp_async', 'ppp_synctty'],
    files: { '/lab/dial.sh': DIAL },
    script: `. /lab/dial.sh\n${SCRIPT}`,
  });
  const result = await vm.waitForExit(150_000);
  const step = (name: string) => result.steps.get(name);
  const why = `\n--- guest ---\n${result.console.slice(-3000)}\n--- postern ---\n${log().split('\n').slice(-40).join('\n')}`;
  t.equal(step('dial-1')?.code, 0, `connected${why}`);
  t.match(step('dial-1')?.output ?? '', /inet 10\.10\.0\.\d+/, 'with an address from the pool');
  t.match(step('route')?.output ?? '', /10\.2\.0\.53/, 'and the pool\'s DNS server');
  t.equal(step('ping')?.code, 0, `the LAN host answers: ${step('ping')?.output}`);
  t.equal(step('transfer')?.code, 0, `10 MB moved to the LAN: ${step('transfer')?.output}`);
  const ms = Number(/ms=(\d+)/.exec(step('transfer')?.output ?? '')?.[1] ?? 0);
  if (ms > 0) t.comment(`10 MB in ${ms} ms through SSTP (${((10 * 8 * 1.048576) / (ms / 1000)).toFixed(1)} Mbit/s, guest under TCG)`);
  t.equal(step('hangup-1')?.code, 0, 'sstpc hangs up');
  t.equal(step('gone')?.code, 0, 'and ppp0 is gone');
  t.equal(step('dial-2')?.code, 0, 'reconnects');
  t.equal(step('ping-2')?.code, 0, 'and reaches the LAN again');
  t.not(step('wrong')?.code, 0, `a wrong password does not connect: ${step('wrong')?.output}`);

  const text = log();
  t.equal(text.split('\n').filter((l) => l.includes('"cryptoBinding":"SHA-256"') && l.includes('"msg":"SSTP call connected"')).length, 2, 'Postern verified both calls\' crypto binding (SHA-256)');
  t.notMatch(text, /SSTP call aborted/, 'no call was aborted: the hang-ups were clean');
  t.equal((text.match(/"msg":"PPP authenticated"/g) ?? []).length, 2, 'two sessions authenticated');
  t.ok(text.split('\n').some((l) => l.includes('"msg":"PPP authentication failed"') && l.includes('"reason":"wrong password"')), 'the wrong password is logged as such');
  t.notMatch(text, new RegExp(PASSWORD), 'passwords never in the log');
  t.notMatch(text, /Wrong-Password-0/);
  t.match(text, /"msg":"PPP session down"/, 'sessions end cleanly');
});
