import { appendFileSync, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasBinary, mustRun, runSync } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { encodeCpio, parentDirs, type CpioEntry } from './cpio.ts';
import { envScript, GUEST_LAB_DIR, MARK, parseExit, parseSteps, SCRIPT_PRELUDE, type StepResult } from './guest-init.ts';
import { vmImage, vmImageMissing, type VmImage } from './image-builder.ts';

/**
 * A qemu guest (TCG; this machine's KVM cannot boot stock kernels) plugged into a lab host by a tap
 * that lives in that host's namespace, with qemu itself started inside it: the guest's only link is to
 * that namespace. It boots the lab image (image-builder.ts), configures eth0, runs the test's bash
 * script and powers off; the console (ttyS0) goes to a file that the test reads and waits on.
 *
 * Cleanup rides on the lab: qemu is started with `lab.spawnDaemon`, so its PID is in the lab's record and
 * `lab.teardown()` (or the exit/signal handlers, or the next run's sweep) kills it; the tap is in the
 * lab's namespace and goes with it. `stop()` does both at once for a test that wants the VM gone early.
 */

export const QEMU = 'qemu-system-x86_64';
const QBOOT = '/usr/share/qemu/qboot.rom';

export interface VmFile {
  readonly data: string | Buffer;
  readonly mode?: number;
}

export interface VmSpec {
  /** The guest's eth0 address with its prefix ("198.51.100.2/24"). */
  readonly address: string;
  /** Given to the tap in the lab host, so host and guest share a subnet ("198.51.100.1/24"). */
  readonly hostAddress?: string;
  readonly gateway?: string;
  /** Modules loaded before the script starts (from GUEST_MODULES). */
  readonly modules?: readonly string[];
  /** bash, run after READY; `step NAME CMD...` and `sh_step NAME 'text'` report between markers. */
  readonly script: string;
  /** More files for the guest by absolute path (peer configs, secrets, certificates). */
  readonly files?: Readonly<Record<string, string | Buffer | VmFile>>;
  /** The tap's name inside the lab host. */
  readonly tap?: string;
  /** Until READY (boot and eth0 set-up). */
  readonly bootTimeoutMs?: number;
}

export interface VmResult {
  /** The script's exit status; null when the guest died before finishing it. */
  readonly exitCode: number | null;
  readonly steps: ReadonlyMap<string, StepResult>;
  readonly console: string;
}

/** Why a VM cannot run here, or null when it can. */
export function vmMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!hasBinary(QEMU) || !existsSync(QBOOT)) return 'qemu-system-x86 is not installed (scripts/install-deps.sh --lab)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  return vmImageMissing();
}

/** One VM at a time in a test process: each takes 300-600 MB and a core. */
let current: Vm | null = null;

export class Vm {
  readonly lab: Lab;
  readonly host: string;
  readonly tap: string;
  readonly image: VmImage;
  readonly consoleFile: string;
  readonly daemon: Daemon;
  /** From starting qemu to READY. */
  bootMs = 0;
  #stopped = false;
  #exited = false;

  private constructor(lab: Lab, host: string, tap: string, image: VmImage, consoleFile: string, daemon: Daemon) {
    this.lab = lab;
    this.host = host;
    this.tap = tap;
    this.image = image;
    this.consoleFile = consoleFile;
    this.daemon = daemon;
    void daemon.exited.then(() => {
      this.#exited = true;
      if (current === this) current = null;
    });
  }

  /** Builds (or takes the cached) image, creates the tap, starts qemu and waits for READY. */
  static async boot(lab: Lab, host: string, spec: VmSpec): Promise<Vm> {
    if (current && !current.#exited) throw new Error('vm: another VM of this test process is still running (one at a time)');
    const image = vmImage();
    const ns = lab.ns(host);
    const dir = lab.subdir(`vm-${host}`);
    const tap = spec.tap ?? 'vmtap0';
    const initrd = join(dir, 'initrd.cpio');
    copyFileSync(image.initramfs, initrd);
    appendFileSync(initrd, testArchive(image, spec));

    mustRun(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    if (spec.hostAddress) mustRun(['ip', '-n', ns, 'addr', 'add', spec.hostAddress, 'dev', tap]);
    mustRun(['ip', '-n', ns, 'link', 'set', 'dev', tap, 'up']);

    const consoleFile = join(dir, 'console.log');
    const started = Date.now();
    const daemon = lab.spawnDaemon(host, `qemu-${host}`, qemuArgv(image, initrd, consoleFile, tap));
    const vm = new Vm(lab, host, tap, image, consoleFile, daemon);
    current = vm;
    try {
      // 60 s: a guest booting while the other core builds firmware (test/run.mjs's second heavy lane) is slower.
      await vm.waitFor(new RegExp(`^${MARK.ready}`, 'm'), spec.bootTimeoutMs ?? 60_000);
    } catch (error) {
      vm.stop();
      throw error;
    }
    vm.bootMs = Date.now() - started;
    return vm;
  }

  /** The console so far (kernel boot lines, markers, the script's output). */
  console(): string {
    try {
      return readFileSync(this.consoleFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls the console until `pattern` matches; throws on timeout, or at once if qemu has exited. */
  async waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const exited = this.#exited;
      const m = pattern.exec(this.console());
      if (m) return m;
      if (exited) throw new Error(`vm: qemu exited before ${pattern} appeared\n${this.#tail()}`);
      if (Date.now() >= deadline) throw new Error(`vm: ${pattern} not on the console within ${ms} ms\n${this.#tail()}`);
      await sleep(25);
    }
  }

  /** Waits for the guest to power off (the script's end); kills it if it takes longer than `ms`. */
  async waitForExit(ms: number): Promise<VmResult> {
    const abort = new AbortController();
    const timer = sleep(ms, 'timeout' as const, { signal: abort.signal }).catch(() => 'exited' as const);
    const how = await Promise.race([this.daemon.exited.then(() => 'exited' as const), timer]);
    abort.abort();
    if (how === 'timeout') {
      this.stop();
      throw new Error(`vm: the guest did not power off within ${ms} ms\n${this.#tail()}`);
    }
    this.#removeTap();
    return this.result();
  }

  /** The script's exit status, once the guest has printed it; null before (or if it never did). */
  get exitCode(): number | null {
    return parseExit(this.console());
  }

  get running(): boolean {
    return !this.#exited;
  }

  result(): VmResult {
    const text = this.console();
    return { exitCode: parseExit(text), steps: parseSteps(text), console: text };
  }

  /** A step that has ended, with its status and output. */
  step(name: string): StepResult | undefined {
    return parseSteps(this.console()).get(name);
  }

  /** Kills qemu by its PID and removes the tap; safe to repeat, and after the lab is gone. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (!this.#exited) {
      try {
        process.kill(this.daemon.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (current === this) current = null;
    this.#removeTap();
  }

  #removeTap(): void {
    const ns = this.lab.ns(this.host);
    if (runSync(['ip', '-n', ns, 'link', 'show', 'dev', this.tap]).code === 0) runSync(['ip', '-n', ns, 'link', 'delete', 'dev', this.tap]);
  }

  #tail(lines = 40): string {
    let qemuLog = '';
    try {
      qemuLog = readFileSync(this.daemon.logFile, 'utf8').trim();
    } catch {
      // no log yet
    }
    return `--- console (last ${lines} lines) ---\n${this.console().split('\n').slice(-lines).join('\n')}${qemuLog ? `\n--- qemu ---\n${qemuLog}` : ''}`;
  }
}

/**
 * qemu for a fast, small, network-isolated guest: PVH boot of the bare vmlinux through qboot (no
 * SeaBIOS, no decompression), no default devices, no NIC but the tap, no reboot (a panic ends qemu).
 */
function qemuArgv(image: VmImage, initrd: string, consoleFile: string, tap: string): string[] {
  const append = ['console=ttyS0', 'quiet', 'panic=-1', 'i8042.noaux', 'i8042.nomux', 'i8042.nopnp'].join(' ');
  return [
    QEMU, '-name', 'postern-lab-vm',
    '-accel', 'tcg,thread=multi', '-machine', 'q35', '-cpu', 'qemu64', '-m', '256', '-smp', '1',
    '-bios', QBOOT, '-kernel', image.vmlinux, '-initrd', initrd, '-append', append,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-nic', 'none',
    '-chardev', `file,id=console,path=${consoleFile}`, '-serial', 'chardev:console',
    '-netdev', `tap,id=lan,ifname=${tap},script=no,downscript=no`,
    '-device', 'virtio-net-pci,netdev=lan,mac=52:54:00:5e:00:02,romfile=',
    '-device', 'virtio-rng-pci',
  ];
}

/** The per-test archive: env, the script behind its prelude, the test's files; padded to 4 bytes. */
function testArchive(image: VmImage, spec: VmSpec): Buffer {
  const env = envScript({ hostname: 'guest', address: spec.address, ...(spec.gateway ? { gateway: spec.gateway } : {}), modules: spec.modules ?? [] });
  const files: CpioEntry[] = [
    { kind: 'file', path: `${GUEST_LAB_DIR}/env.sh`, data: env },
    { kind: 'file', path: `${GUEST_LAB_DIR}/run.sh`, data: `${SCRIPT_PRELUDE}\n${spec.script}\n`, mode: 0o755 },
  ];
  for (const [path, f] of Object.entries(spec.files ?? {})) {
    if (!path.startsWith('/')) throw new Error(`vm: guest file '${path}' must be an absolute path`);
    const file = typeof f === 'string' || Buffer.isBuffer(f) ? { data: f } : f;
    files.push({ kind: 'file', path: path.slice(1), data: file.data, ...(file.mode !== undefined ? { mode: file.mode } : {}) });
  }
  const dirs = parentDirs(files.map((f) => f.path), (dir) => image.baseDirs.has(dir));
  const archive = encodeCpio([...dirs, ...files]);
  // The kernel finds the next archive only at a 4-byte boundary; newc output already ends on one.
  return Buffer.concat([Buffer.alloc((4 - (statSync(image.initramfs).size % 4)) % 4), archive]);
}
