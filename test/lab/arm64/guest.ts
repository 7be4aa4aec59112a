import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasBinary, mustRun, runSync } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { GUEST } from './guest-init.ts';
import type { Arm64Image } from './image.ts';

/**
 * The arm64 router as a qemu-system-aarch64 guest (TCG, `-machine virt`, direct kernel boot): its
 * WAN NIC on a tap in the lab host `wan`, its LAN NIC on a tap in the host `lan`, its disk a per-run
 * sparse copy of the image's. qemu runs inside `wan` (a tap is opened by name in qemu's namespace);
 * the LAN tap is moved to `lan` once qemu holds it, and keeps working there. A reboot of the guest
 * resets the machine inside the same qemu (no -no-reboot), so the disk and the taps stay.
 *
 * Cleanup rides on the lab: qemu's PID is in the lab's record and the taps go with the namespaces.
 */

export const QEMU_ARM64 = 'qemu-system-aarch64';

export function arm64GuestMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!hasBinary(QEMU_ARM64)) return 'qemu-system-arm is not installed (scripts/install-deps.sh --lab)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  return null;
}

export class Arm64Guest {
  readonly daemon: Daemon;
  readonly consoleFile: string;
  readonly startedAt: number;

  private constructor(daemon: Daemon, consoleFile: string, startedAt: number) {
    this.daemon = daemon;
    this.consoleFile = consoleFile;
    this.startedAt = startedAt;
  }

  static async boot(lab: Lab, image: Arm64Image, options: { cpus?: number; memoryMb?: number } = {}): Promise<Arm64Guest> {
    const dir = lab.subdir('arm64');
    const disk = join(dir, 'disk.img');
    mustRun(['cp', '--sparse=always', image.disk, disk], 60_000);
    const wan = lab.ns('wan');
    const lan = lab.ns('lan');
    for (const tap of ['wantap', 'lantap']) mustRun(['ip', '-n', wan, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    const consoleFile = join(dir, 'console.log');
    const argv = [
      QEMU_ARM64, '-name', 'postern-arm64-boot',
      '-machine', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg,thread=multi', '-smp', String(options.cpus ?? 2), '-m', String(options.memoryMb ?? 1024),
      '-kernel', image.kernel, '-initrd', image.initramfs, '-append', 'console=ttyAMA0 quiet panic=-1',
      '-nodefaults', '-no-user-config', '-display', 'none',
      '-chardev', `file,id=console,path=${consoleFile}`, '-serial', 'chardev:console',
      '-drive', `file=${disk},format=raw,if=none,id=disk,cache=unsafe`, '-device', 'virtio-blk-pci,drive=disk',
      '-netdev', 'tap,id=wan,ifname=wantap,script=no,downscript=no', '-device', `virtio-net-pci,netdev=wan,mac=${GUEST.wanMac},romfile=`,
      '-netdev', 'tap,id=lan,ifname=lantap,script=no,downscript=no', '-device', `virtio-net-pci,netdev=lan,mac=${GUEST.lanMac},romfile=`,
      '-device', 'virtio-rng-pci',
      // The board's watchdog: a guest whose service stops feeding it is reset, as hardware would.
      '-device', 'i6300esb', '-action', 'watchdog=reset',
    ];
    const startedAt = Date.now();
    const daemon = lab.spawnDaemon('wan', 'qemu-arm64', argv);
    const guest = new Arm64Guest(daemon, consoleFile, startedAt);
    await guest.#holdsTap('lantap', 30_000);
    mustRun(['ip', '-n', wan, 'link', 'set', 'dev', 'lantap', 'netns', lan]);
    mustRun(['ip', '-n', wan, 'addr', 'add', `${GUEST.wanGateway}/${GUEST.wanPrefix}`, 'dev', 'wantap']);
    mustRun(['ip', '-n', wan, 'link', 'set', 'dev', 'wantap', 'up']);
    mustRun(['ip', '-n', lan, 'addr', 'add', `${GUEST.lanHost}/${GUEST.lanPrefix}`, 'dev', 'lantap']);
    mustRun(['ip', '-n', lan, 'link', 'set', 'dev', 'lantap', 'up']);
    // The LAN host reaches the client pool (10.10.0.0/24) through the router, as a LAN's default route does.
    mustRun(['ip', '-n', lan, 'route', 'add', 'default', 'via', GUEST.lanAddress]);
    return guest;
  }

  /** Until qemu has the tap open (its fdinfo names the interface): only then may it change namespace. */
  async #holdsTap(name: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const fds = runSync(['sh', '-c', `grep -l "^iff:\\s*${name}$" /proc/${this.daemon.pid}/fdinfo/* 2>/dev/null`]);
      if (fds.stdout.trim()) return;
      if (Date.now() >= deadline) throw new Error(`arm64 guest: qemu did not open ${name} within ${ms} ms\n${this.tail()}`);
      await sleep(50);
    }
  }

  console(): string {
    try {
      return readFileSync(this.consoleFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls the console (from `from` on) until `pattern` matches; throws on timeout or if qemu has exited. */
  async waitFor(pattern: RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    let exited = false;
    void this.daemon.exited.then(() => (exited = true));
    for (;;) {
      const m = pattern.exec(this.console().slice(from));
      if (m) return m;
      if (exited) throw new Error(`arm64 guest: qemu exited before ${pattern}\n${this.tail()}`);
      if (Date.now() >= deadline) throw new Error(`arm64 guest: ${pattern} not on the console within ${ms} ms\n${this.tail()}`);
      await sleep(100);
    }
  }

  tail(lines = 40): string {
    let qemu = '';
    try {
      qemu = readFileSync(this.daemon.logFile, 'utf8').trim();
    } catch {
      // no log yet
    }
    return `--- console (last ${lines} lines) ---\n${this.console().split('\n').slice(-lines).join('\n')}${qemu ? `\n--- qemu ---\n${qemu}` : ''}`;
  }

  /** Kills qemu by its PID (the lab's teardown does it too). */
  stop(): void {
    try {
      process.kill(this.daemon.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
