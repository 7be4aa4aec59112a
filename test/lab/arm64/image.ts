import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../../../firmware/util/process.ts';
import { mustRun, runSync } from '../command.ts';
import { encodeCpio, treeEntries } from '../vm/cpio.ts';
import { GUEST, guestFiles } from './guest-init.ts';

/**
 * The arm64 boot test's machine (issue 18): Debian's arm64 kernel, a busybox initramfs whose init
 * starts postern-launcher as the service, and a persistent disk (ext4, made with `mkfs.ext4 -d`, no
 * mount) holding the launcher, slot a with the firmware executable and an empty state directory. The
 * kernel and busybox come from Debian's arm64 packages, downloaded (not installed: an arm64 kernel in
 * /boot would be taken for the host's by the x86 VM lab) by scripts/install-deps.sh into DEBS_DIR.
 * The executable's glibc and libstdc++ are the host's multiarch arm64 ones (the firmware build's
 * packages). Cached under .cache/arm64-boot/<key> (git-ignored), the key over every input.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
export const DEBS_DIR = join(ROOT, '.cache/arm64-guest-debs');
const CACHE_DIR = join(ROOT, '.cache/arm64-boot');
const LIB = '/usr/lib/aarch64-linux-gnu';
/** What node needs (readelf NEEDED) and what glibc loads by name (NSS, resolver). */
const LIBS = ['ld-linux-aarch64.so.1', 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6', 'libgcc_s.so.1', 'libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2', 'librt.so.1'];
/**
 * Modules init loads, dependencies first: PCI virtio devices (NICs, disk, RNG), ext4 for the disk,
 * TUN, and the kernel's ESP (Postern's probe sees a kernel with ESP, as on a real board). Not drbg:
 * its jitterentropy seed source refuses TCG's coarse timer, and the ESP SAs here are Postern's own
 * (the userspace data plane over TUN), not the kernel's. And kernel TLS (tls: SSTP calls' records
 * sealed and opened by the kernel, issue 23), as on boards whose kernels have it.
 */
const MODULES = [
  'virtio_pci', 'virtio_net', 'virtio_blk', 'virtio_rng', 'ext4', 'tun',
  'esp4', 'xfrm_user', 'xfrm4_tunnel', 'authenc', 'echainiv', 'seqiv', 'gcm', 'ghash_generic', 'ctr',
  'aes_ce_blk', 'ghash_ce', 'sha2_ce', 'i6300esb', 'tls',
];
/**
 * Module parameters. The watchdog (qemu's i6300esb, the board's /dev/watchdog that the service feeds
 * while healthy) gets 60 s instead of 30: a busy TCG guest must not be reset by a slow tick.
 */
const MODULE_PARAMS: Readonly<Record<string, string>> = { i6300esb: 'heartbeat=60' };
const DISK_BYTES = 640 * 1024 * 1024;

export interface Arm64Image {
  readonly dir: string;
  readonly key: string;
  /** The kernel's Image (qemu -kernel). */
  readonly kernel: string;
  readonly initramfs: string;
  /** The pristine disk: copy it per run (sparse), the guest writes to it. */
  readonly disk: string;
  readonly built: boolean;
  readonly ms: number;
}

/** Why the image cannot be built here, or null when it can. */
export function arm64ImageMissing(): string | null {
  if (!debFile('linux-image-') || !debFile('busybox-static_')) return `Debian's arm64 kernel and busybox are not downloaded into ${DEBS_DIR} (scripts/install-deps.sh --lab)`;
  for (const lib of LIBS.slice(0, 8)) if (!existsSync(join(LIB, lib))) return `${LIB}/${lib} is missing (scripts/install-deps.sh --firmware)`;
  for (const tool of ['/usr/sbin/mkfs.ext4', '/usr/bin/dpkg-deb', '/usr/sbin/depmod']) if (!existsSync(tool)) return `${tool} is missing`;
  return null;
}

function debFile(prefix: string): string | undefined {
  if (!existsSync(DEBS_DIR)) return undefined;
  return readdirSync(DEBS_DIR).filter((f) => f.startsWith(prefix) && f.endsWith('_arm64.deb')).sort().pop();
}

/** The cached image for this executable, built first when any input changed. */
export function arm64Image(executable: string, executableSha256: string): Arm64Image {
  const started = Date.now();
  const kernelDeb = debFile('linux-image-');
  const busyboxDeb = debFile('busybox-static_');
  if (!kernelDeb || !busyboxDeb) throw new Error(arm64ImageMissing() ?? 'arm64 guest packages missing');
  const h = createHash('sha256').update(`${kernelDeb}\n${busyboxDeb}\n${executableSha256}\n`);
  for (const lib of LIBS) h.update(runSync(['sha256sum', join(LIB, lib)]).stdout);
  for (const f of ['image.ts', 'guest-init.ts', '../vm/cpio.ts', '../../../firmware/upgrade/launcher.sh', '../../../scripts/firmware/init/inittab', '../../../board/generic-arm64.json']) h.update(readFileSync(join(HERE, f)));
  const key = h.digest('hex').slice(0, 16);
  const dir = join(CACHE_DIR, key);
  let built = false;
  if (!existsSync(join(dir, 'done'))) {
    build(dir, key, join(DEBS_DIR, kernelDeb), join(DEBS_DIR, busyboxDeb), executable);
    built = true;
  }
  return { dir, key, kernel: join(dir, 'Image'), initramfs: join(dir, 'initramfs.cpio'), disk: join(dir, 'disk.img'), built, ms: Date.now() - started };
}

/** Into a private directory, renamed into place (two builders at once both succeed). */
function build(dir: string, key: string, kernelDeb: string, busyboxDeb: string, executable: string): void {
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const name of readdirSync(CACHE_DIR)) {
    const pid = /^\.build-(\d+)-/.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
  const tmp = join(CACHE_DIR, `.build-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    const pkg = join(tmp, 'pkg');
    mkdirSync(pkg, { recursive: true });
    mustRun(['dpkg-deb', '-x', kernelDeb, pkg], 120_000);
    mustRun(['dpkg-deb', '-x', busyboxDeb, pkg], 60_000);
    const kver = readdirSync(join(pkg, 'lib/modules'))[0] as string;
    copyFileSync(join(pkg, `boot/vmlinuz-${kver}`), join(tmp, 'Image'));
    const root = join(tmp, 'root');
    populateRoot(root, pkg, kver);
    writeFileSync(join(tmp, 'initramfs.cpio'), encodeCpio([
      ...treeEntries(root),
      { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    ]));
    makeDisk(join(tmp, 'disk.img'), join(tmp, 'disk'), executable);
    rmSync(pkg, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
    writeFileSync(join(tmp, 'done'), `${key}\n`);
    try {
      renameSync(tmp, dir);
    } catch (error) {
      if (!existsSync(join(dir, 'done'))) throw error;
    }
    // Images of other inputs are dead weight (a 640 MB sparse disk each).
    for (const name of readdirSync(CACHE_DIR)) if (!name.startsWith('.') && name !== key) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function populateRoot(root: string, pkg: string, kver: string): void {
  for (const d of ['usr/bin', 'usr/sbin', `usr/lib/aarch64-linux-gnu`, 'proc', 'sys', 'dev', 'run', 'tmp', 'etc', 'root', 'persist', 'var/lib', 'usr/lib']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  // Debian's merged /usr.
  for (const d of ['bin', 'sbin', 'lib']) symlinkSync(`usr/${d}`, join(root, d));
  copyFileSync(join(pkg, 'bin/busybox'), join(root, 'usr/bin/busybox'));
  chmodSync(join(root, 'usr/bin/busybox'), 0o755);
  // Every applet as a link (the list is busybox's own, asked under emulation-free means: the x86 one has the same config).
  for (const applet of mustRun(['/usr/bin/busybox', '--list']).split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox')) {
    symlinkSync('busybox', join(root, 'usr/bin', applet));
  }
  symlinkSync('usr/bin/busybox', join(root, 'init'));
  for (const lib of LIBS) copyFileSync(join(LIB, lib), join(root, 'usr/lib/aarch64-linux-gnu', lib));
  symlinkSync('aarch64-linux-gnu/ld-linux-aarch64.so.1', join(root, 'usr/lib/ld-linux-aarch64.so.1'));
  // The persistent disk holds the launcher, the slots and the state; these paths are where init
  // and the shipped init files expect them.
  symlinkSync('/persist/postern', join(root, 'usr/lib/postern'));
  symlinkSync('/persist/state', join(root, 'var/lib/postern'));
  symlinkSync('../run', join(root, 'var/run'));
  installModules(root, pkg, kver);
  for (const [path, f] of Object.entries(guestFiles())) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), f.data, { mode: f.mode ?? 0o644 });
  }
}

/** The modules with their dependencies in load order, copied, and their list for init's insmod. */
function installModules(root: string, pkg: string, kver: string): void {
  mustRun(['depmod', '-b', pkg, kver], 120_000);
  const order: string[] = [];
  for (const mod of MODULES) {
    const r = runSync(['modprobe', '-d', pkg, '-S', kver, '--show-depends', mod]);
    if (r.code !== 0) throw new Error(`arm64 image: module ${mod}: ${r.stderr.trim()}`);
    for (const m of r.stdout.matchAll(/^insmod (\S+)/gm)) {
      const rel = (m[1] as string).slice(pkg.length).replace(/^\/+/, '').replace(/^usr\//, '');
      if (!order.includes(rel)) order.push(rel);
    }
  }
  for (const rel of order) {
    mkdirSync(dirname(join(root, 'usr', rel)), { recursive: true });
    copyFileSync(join(pkg, rel), join(root, 'usr', rel));
  }
  // Postern's probe reads modules.dep and modules.builtin to know the kernel has ESP.
  for (const f of ['modules.builtin', 'modules.order', 'modules.dep']) {
    const from = join(pkg, 'lib/modules', kver, f);
    if (existsSync(from)) copyFileSync(from, join(root, 'usr/lib/modules', kver, f));
  }
  const params = (rel: string) => MODULE_PARAMS[rel.replace(/^.*\//, '').replace(/\.ko$/, '')] ?? '';
  writeFileSync(join(root, 'etc/modules.load'), `${order.map((rel) => `/${rel} ${params(rel)}`.trim()).join('\n')}\n`);
}

/** ext4 holding postern/postern-launcher, postern/slots/a (the executable) and state/. */
function makeDisk(image: string, tree: string, executable: string): void {
  mkdirSync(join(tree, 'postern/slots'), { recursive: true });
  mkdirSync(join(tree, 'state'), { recursive: true, mode: 0o700 });
  copyFileSync(join(ROOT, 'firmware/upgrade/launcher.sh'), join(tree, 'postern/postern-launcher'));
  chmodSync(join(tree, 'postern/postern-launcher'), 0o755);
  copyFileSync(executable, join(tree, 'postern/slots/a'));
  chmodSync(join(tree, 'postern/slots/a'), 0o755);
  mustRun(['mkfs.ext4', '-q', '-F', '-L', GUEST.diskLabel, '-E', 'root_owner=0:0', '-d', tree, image, `${DISK_BYTES / 1024 / 1024}M`], 120_000);
  rmSync(tree, { recursive: true, force: true });
}
