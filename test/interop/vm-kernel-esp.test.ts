// Kernel ESP in the VM lab's guest: two tunnel-mode children keyed by hand, the guest's kernel XFRM
// (iproute2's `ip xfrm`) on one end and Postern's userspace data plane on the gateway of the
// vmRemoteAccess scenario on the other. One child is AES-GCM-128 (seqiv IVs), the other AES-CBC-256
// with HMAC-SHA-256-128 (echainiv IVs): both IV generators need the kernel's default RNG (drbg), which
// the image once lacked: with it unloaded, the kernel refuses an AES-GCM SA ("Requested AEAD algorithm
// not found"). Pings cross both ways in ESP; the guest's own SA counters and Postern's agree, and the
// kernel counts no XFRM error.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { PolicySpec, SaSpec } from '../../firmware/dataplane/types.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const missing = vmMissing();
const skip = labSkip(missing);

const GUEST = VM_REMOTE.guest;
const GW = VM_REMOTE.server;
const LAN = '10.2.0.0/24';

type WireSa = Omit<SaSpec, 'keys' | 'lifetime'> & { keys: { encryption: string; integrity?: string } };

interface Child {
  readonly reqid: number;
  /** The guest's inner address (on its lo). */
  readonly inner: string;
  /** guest → gateway, gateway → guest. */
  readonly spiOut: number;
  readonly spiIn: number;
  readonly suite: SaSpec['suite'];
  /** Per direction: encryption key (AEAD: key then salt) and integrity key, hex. */
  readonly keys: { out: { enc: string; auth?: string }; in: { enc: string; auth?: string } };
  /** The same algorithm as `ip xfrm state` spells it. */
  readonly xfrm: (k: { enc: string; auth?: string }) => string;
}

const keyPair = (encBytes: number, authBytes?: number) => ({
  enc: randomBytes(encBytes).toString('hex'),
  ...(authBytes ? { auth: randomBytes(authBytes).toString('hex') } : {}),
});

const CHILDREN: readonly Child[] = [
  {
    reqid: 1, inner: '10.10.0.2', spiOut: 0x1000_0001, spiIn: 0x2000_0001, suite: 'aes-gcm-128',
    keys: { out: keyPair(20), in: keyPair(20) },
    xfrm: (k) => `aead 'rfc4106(gcm(aes))' 0x${k.enc} 128`,
  },
  {
    reqid: 2, inner: '10.10.0.3', spiOut: 0x1000_0002, spiIn: 0x2000_0002, suite: 'aes-cbc-256-hmac-sha256-128',
    keys: { out: keyPair(32, 32), in: keyPair(32, 32) },
    xfrm: (k) => `enc 'cbc(aes)' 0x${k.enc} auth-trunc 'hmac(sha256)' 0x${k.auth ?? ''} 128`,
  },
];

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** The guest's half: its inner address, both SAs and both policies of each child. */
function guestXfrm(c: Child): string {
  const tmpl = (src: string, dst: string) => `tmpl src ${src} dst ${dst} proto esp reqid ${c.reqid} mode tunnel`;
  return [
    `ip addr add ${c.inner}/32 dev lo`,
    `/usr/bin/ip xfrm state add src ${GUEST} dst ${GW} proto esp spi ${hex(c.spiOut)} reqid ${c.reqid} mode tunnel ${c.xfrm(c.keys.out)}`,
    `/usr/bin/ip xfrm state add src ${GW} dst ${GUEST} proto esp spi ${hex(c.spiIn)} reqid ${c.reqid} mode tunnel replay-window 64 ${c.xfrm(c.keys.in)}`,
    `/usr/bin/ip xfrm policy add src ${c.inner}/32 dst ${LAN} dir out ${tmpl(GUEST, GW)}`,
    `/usr/bin/ip xfrm policy add src ${LAN} dst ${c.inner}/32 dir in ${tmpl(GW, GUEST)}`,
  ].join('\n');
}

/** The gateway's half, for Postern's data plane (dataplane-peer.ts): the mirror image. */
function gatewaySas(c: Child): WireSa[] {
  const sa = (spi: number, source: string, destination: string, direction: 'in' | 'out', k: { enc: string; auth?: string }): WireSa => ({
    spi, source, destination, direction, mode: 'tunnel', suite: c.suite, esn: false, reqid: c.reqid,
    replayWindow: direction === 'in' ? 64 : 0, keys: { encryption: k.enc, ...(k.auth ? { integrity: k.auth } : {}) },
  });
  return [sa(c.spiOut, GUEST, GW, 'in', c.keys.out), sa(c.spiIn, GW, GUEST, 'out', c.keys.in)];
}

function gatewayPolicies(c: Child): PolicySpec[] {
  const template = (source: string, destination: string) => ({ source, destination, mode: 'tunnel' as const, reqid: c.reqid });
  return [
    { source: { prefix: LAN }, destination: { prefix: `${c.inner}/32` }, direction: 'out', action: 'protect', priority: 100, template: template(GW, GUEST) },
    { source: { prefix: `${c.inner}/32` }, destination: { prefix: LAN }, direction: 'in', action: 'protect', priority: 100, template: template(GUEST, GW) },
  ];
}

// The guest waits (bounded) for the LAN host's echo requests, which can only arrive through the SAs:
// the inbound policies drop anything from the LAN in clear.
const waitForEchoRequests = (n: number) => `for _ in $(seq 300); do
  c=$(awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") f = i; h = 1 } else print $f }' /proc/net/snmp)
  if [ "$c" -ge ${n} ]; then echo "echo requests in: $c"; exit 0; fi
  sleep 0.1
done
echo "echo requests in: $c"
exit 1
`;

// The control: with drbg unloaded (and the kernel kept from loading it again) the guest's kernel
// refuses an AES-GCM SA; the RNG comes back before the real SAs go in.
const WITHOUT_RNG = `old=$(cat /proc/sys/kernel/modprobe); echo /bin/false > /proc/sys/kernel/modprobe
rmmod drbg jitterentropy_rng || exit 9
/usr/bin/ip xfrm state add src ${GUEST} dst ${GW} proto esp spi 0x99 mode tunnel aead 'rfc4106(gcm(aes))' 0x${'11'.repeat(20)} 128; rc=$?
echo "$old" > /proc/sys/kernel/modprobe; modprobe jitterentropy_rng && modprobe drbg || exit 8
exit $rc`;

const SCRIPT = [
  `sh_step without-rng '${WITHOUT_RNG.replace(/'/g, `'\\''`)}'`,
  'sh_step rng \'grep -B1 -A4 "^name *: stdrng" /proc/crypto | grep -E "^(name|driver)"\'',
  `sh_step xfrm 'set -e\n${CHILDREN.map(guestXfrm).join('\n').replace(/'/g, `'\\''`)}'`,
  ...CHILDREN.map((c) => `step ping-${c.reqid} ping -c 3 -W 3 -I ${c.inner} 10.2.0.10`),
  'step host-pings bash /lab/wait-echo.sh',
  'step states /usr/bin/ip -s xfrm state',
  'step xfrm-stat cat /proc/net/xfrm_stat',
].join('\n');

interface GuestSa {
  readonly spi: number;
  readonly packets: number;
  readonly failed: number;
}

/** `ip -s xfrm state`: each state's SPI, its `lifetime current` packets and its integrity failures. */
function parseStates(text: string): GuestSa[] {
  return text.split(/^src /m).slice(1).map((block) => ({
    spi: Number(/spi (0x[0-9a-f]+)/.exec(block)?.[1] ?? -1),
    packets: Number(/(\d+)\(packets\)/.exec(block)?.[1] ?? -1),
    failed: Number(/ failed (\d+)/.exec(block)?.[1] ?? -1),
  }));
}

t.test('kernel ESP in the VM guest against Postern\'s userspace data plane: AES-GCM and AES-CBC/HMAC-SHA-256 both ways', { skip }, async (t) => {
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());
  // The gateway's side first: its WAN has its address already, so the data plane opens ESP on it now.
  const { peer: gw } = await LinePeer.spawn(lab, 'gw', 'dp-gw', 'dataplane-peer.ts', { address: GW, tunnelAddress: '10.2.0.1' });
  for (const c of CHILDREN) {
    for (const p of gatewayPolicies(c)) await gw.call('addPolicy', p);
    for (const sa of gatewaySas(c)) await gw.call('addSa', sa);
  }

  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router,
    modules: ['esp4', 'xfrm_user'],
    script: SCRIPT,
    files: { '/lab/wait-echo.sh': waitForEchoRequests(3 * CHILDREN.length) },
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);
  // The LAN host pings each inner address once the guest's own pings are done (3 each).
  await vm.waitFor(/^@@STEP host-pings BEGIN/m, 60_000);
  const lanPings = await Promise.all(CHILDREN.map((c) => lab.exec('lanB', ['ping', '-c', '3', '-i', '0.3', '-W', '3', c.inner], 20_000)));
  const result = await vm.waitForExit(60_000);
  const step = (name: string) => result.steps.get(name);
  const why = `\n--- guest ---\n${result.console.slice(-4000)}`;

  const control = step('without-rng');
  t.ok(control !== undefined && ![0, 8, 9].includes(control.code), `without drbg the guest's kernel refuses an AES-GCM SA (status ${control?.code}): ${control?.output.trim()}`);
  t.match(step('rng')?.output ?? '', /driver\s*: drbg_/, 'with it back, the kernel\'s default RNG is drbg');
  t.equal(step('xfrm')?.code, 0, `the guest's kernel takes both SA pairs and the policies: ${step('xfrm')?.output}`);
  for (const [i, c] of CHILDREN.entries()) {
    t.equal(step(`ping-${c.reqid}`)?.code, 0, `the guest (${c.inner}, ${c.suite}) pings the LAN host through ESP: ${step(`ping-${c.reqid}`)?.output}`);
    t.equal(lanPings[i]?.code, 0, `the LAN host pings the guest's ${c.inner} (${c.suite}) through ESP:\n${lanPings[i]?.stdout}${lanPings[i]?.stderr}`);
  }
  t.equal(step('host-pings')?.code, 0, `the guest counted the LAN host's echo requests: ${step('host-pings')?.output}`);

  // Each SA carried the guest's 3 requests and 3 replies one way (6 packets), at least (ARP-free).
  const states = parseStates(step('states')?.output ?? '');
  t.equal(states.length, 2 * CHILDREN.length, 'four SAs in the guest\'s kernel');
  for (const c of CHILDREN) {
    for (const [spi, way] of [[c.spiOut, 'sealed by the guest'], [c.spiIn, 'opened by the guest']] as const) {
      const guestSa = states.find((s) => s.spi === spi);
      const gwSa = await gw.call('querySa', { spi, destination: spi === c.spiOut ? GW : GUEST }) as { packets: number; authFailures: number } | null;
      t.ok((guestSa?.packets ?? 0) >= 6, `${c.suite} ${hex(spi)}: ${guestSa?.packets} packets ${way}`);
      t.equal(gwSa?.packets, guestSa?.packets, `${c.suite} ${hex(spi)}: Postern counts the same packets (${gwSa?.packets})`);
      t.equal(guestSa?.failed, 0, `${c.suite} ${hex(spi)}: no integrity failure in the guest`);
      t.equal(gwSa?.authFailures, 0, `${c.suite} ${hex(spi)}: none at Postern`);
    }
  }
  const errors = (step('xfrm-stat')?.output ?? '').split('\n').map((l) => /^(\w+)\s+(\d+)$/.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null && m[2] !== '0');
  t.same(errors.map((m) => `${m[1]} ${m[2]}`), [], 'the guest\'s kernel counts no XFRM error (/proc/net/xfrm_stat)');
  t.equal(result.exitCode, 0, 'the script ends cleanly');
  if (!t.passing()) t.comment(why);
  t.comment(`whole test in ${Date.now() - started} ms`);
});
