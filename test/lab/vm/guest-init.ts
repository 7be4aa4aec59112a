/**
 * What runs inside the lab guest: its PID 1 (in the base image) and the per-test files (appended to it
 * at each boot). Everything the guest says comes back on the serial console as marker lines:
 *
 *   @@VM READY                      eth0 is up with the test's address; the test's script starts
 *   @@STEP <name> BEGIN             a `step` of the script starts; its output (stdout and stderr) follows
 *   @@STEP <name> END rc=<n>        ... and ends with this exit status
 *   @@VM FAILED <why>               set-up failed (the script does not run)
 *   @@VM EXIT rc=<n>                the script's exit status, just before the guest powers off
 *
 * The kernel's own messages are silenced after boot (printk level 1) so they cannot split these lines.
 */

export const MARK = {
  ready: '@@VM READY',
  failed: '@@VM FAILED',
  exit: '@@VM EXIT rc=',
  step: '@@STEP',
} as const;

/**
 * Loaded at every boot before the test's own modules: the NIC, the RNG device, and the kernel's
 * default RNG (drbg, seeded by jitterentropy, whose conditioning hash is SHA3-256) that ESP's IV
 * generators need for any SA.
 */
export const BOOT_MODULES = ['virtio_pci', 'virtio_net', 'virtio_rng', 'sha3_generic', 'jitterentropy_rng', 'drbg'] as const;

/** Where the per-test archive puts its files. */
export const GUEST_LAB_DIR = '/lab';

/**
 * PID 1. bash rather than busybox ash, which runs its own applets before PATH: its `ip` lacks l2tp and
 * xfrm and its `modprobe` is not kmod's. /run and /tmp stay on the initramfs (already writable) so files
 * a test puts there are not hidden under a new mount.
 */
export const INIT_SCRIPT = `#!/usr/bin/bash
export PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run/lock /run/sstpc /run/xl2tpd /run/pptp /var/log /tmp
mount -t devpts devpts /dev/pts
echo 1 > /proc/sys/kernel/printk
stty -onlcr 2>/dev/null
exec </dev/null 2>&1
finish() { echo; echo "${MARK.exit}$1"; sleep 0.3; poweroff -f; }
fail() { echo "${MARK.failed} $*"; finish 255; }
. ${GUEST_LAB_DIR}/env.sh || fail "no ${GUEST_LAB_DIR}/env.sh"
hostname "$VM_HOSTNAME"
for m in ${BOOT_MODULES.join(' ')} $VM_MODULES; do modprobe "$m" || fail "modprobe $m"; done
for _ in $(seq 200); do [ -e /sys/class/net/eth0 ] && break; sleep 0.02; done
ip link set dev lo up
ip link set dev eth0 up || fail "no eth0"
ip addr add "$VM_ADDRESS" dev eth0 || fail "address $VM_ADDRESS"
if [ -n "$VM_GATEWAY" ]; then ip route add default via "$VM_GATEWAY" || fail "gateway $VM_GATEWAY"; fi
echo "${MARK.ready}"
cd ${GUEST_LAB_DIR} && bash ${GUEST_LAB_DIR}/run.sh
finish $?
`;

/**
 * Put before the test's script: \`step NAME COMMAND [ARGS...]\` runs a command between markers and returns
 * its status; \`sh_step NAME 'shell text'\` does the same for a shell snippet.
 */
export const SCRIPT_PRELUDE = `step() {
  local name=$1; shift
  echo "${MARK.step} $name BEGIN"
  "$@" 2>&1
  local rc=$?
  echo "${MARK.step} $name END rc=$rc"
  return $rc
}
sh_step() { step "$1" bash -c "$2"; }
`;

/** A value quoted for bash (single quotes, embedded ones closed and escaped). */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface GuestEnv {
  readonly hostname: string;
  /** eth0's address with its prefix length. */
  readonly address: string;
  readonly gateway?: string;
  /** Loaded before READY, after virtio_net. */
  readonly modules: readonly string[];
}

export function envScript(env: GuestEnv): string {
  return [
    `VM_HOSTNAME=${shq(env.hostname)}`,
    `VM_ADDRESS=${shq(env.address)}`,
    `VM_GATEWAY=${shq(env.gateway ?? '')}`,
    `VM_MODULES=${shq(env.modules.join(' '))}`,
    '',
  ].join('\n');
}

export interface StepResult {
  readonly code: number;
  readonly output: string;
}

/** Steps that ended, by name (a repeated name keeps its last run), from the console text. */
export function parseSteps(console: string): Map<string, StepResult> {
  const steps = new Map<string, StepResult>();
  const open = new Map<string, string[]>();
  for (const raw of console.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^@@STEP (\S+) (BEGIN|END rc=(\d+))$/.exec(line);
    if (m?.[2] === 'BEGIN') {
      open.set(m[1] as string, []);
    } else if (m) {
      const name = m[1] as string;
      steps.set(name, { code: Number(m[3]), output: (open.get(name) ?? []).join('\n') });
      open.delete(name);
    } else {
      for (const lines of open.values()) lines.push(line);
    }
  }
  return steps;
}

/** The script's exit status from the console, or null when the guest never got that far. */
export function parseExit(console: string): number | null {
  const m = /@@VM EXIT rc=(\d+)/.exec(console);
  return m ? Number(m[1]) : null;
}
