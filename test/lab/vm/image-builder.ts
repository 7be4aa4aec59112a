import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, readlinkSync, realpathSync, renameSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../../../firmware/util/process.ts';
import { mustRun, runSync } from '../command.ts';
import { encodeCpio, treeEntries } from './cpio.ts';
import { BOOT_MODULES, INIT_SCRIPT } from './guest-init.ts';

/**
 * The lab guest's image, built from this machine's Debian packages: the Debian kernel (its vmlinux, for
 * a PVH boot that skips the decompressor and the real-mode set-up) and a busybox initramfs carrying
 * the real PPP clients (pppd, sstpc, pptp, xl2tpd), strongSwan, socat and iproute2 with every shared
 * library they need and the kernel modules for PPP, GRE (PPTP's and ip_gre tunnels), L2TP and ESP. Cached under .cache/ (git-
 * ignored) by a key over the package versions and this builder's own source, so it is rebuilt only
 * when one of those changes. Never committed.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
export const CACHE_DIR = resolve(HERE, '../../../.cache/vm-image');

/** Host files copied into the guest, with their shared libraries. Missing optional ones are skipped. */
const BINARIES = [
  '/usr/bin/bash', '/usr/bin/ip', '/usr/bin/kmod', '/usr/bin/socat',
  '/usr/sbin/pppd', '/usr/sbin/pppstats', '/usr/sbin/chat', '/usr/sbin/sstpc', '/usr/sbin/pptp', '/usr/sbin/xl2tpd', '/usr/sbin/xl2tpd-control',
  '/usr/lib/ipsec/charon', '/usr/sbin/swanctl',
  '/usr/bin/strace',
];
/** Whole trees: pppd plugins (sstpc's among them), strongSwan's plugins and configuration, Debian's /etc/ppp. */
const TREES = ['/usr/lib/pppd', '/usr/lib/ipsec', '/etc/ppp', '/etc/strongswan.d', '/etc/swanctl', '/etc/xl2tpd'];
/**
 * What glibc and OpenSSL load at run time, which ldd cannot see: libgcc_s (thread cancellation; charon
 * aborts without it), the NSS modules and libresolv, OpenSSL's config and its legacy provider (MD4 for
 * sstpc's MS-CHAPv2).
 */
const DLOPENED = [
  '/usr/lib/x86_64-linux-gnu/libgcc_s.so.1', '/usr/lib/x86_64-linux-gnu/libnss_files.so.2', '/usr/lib/x86_64-linux-gnu/libnss_dns.so.2',
  '/usr/lib/x86_64-linux-gnu/libresolv.so.2', '/usr/lib/x86_64-linux-gnu/ossl-modules', '/usr/lib/ssl/openssl.cnf', '/etc/strongswan.conf',
];
/** kmod's names for itself. */
const KMOD_LINKS = ['/usr/sbin/modprobe', '/usr/sbin/insmod', '/usr/sbin/rmmod', '/usr/sbin/lsmod', '/usr/sbin/modinfo', '/usr/sbin/depmod'];

/**
 * Kernel modules the guest can load (their dependencies come along). ESP's IV generators (seqiv for
 * AES-GCM, echainiv for AES-CBC with HMAC) draw on the kernel's default RNG, the `stdrng` of `drbg`,
 * seeded by `jitterentropy_rng` (whose conditioning hash is `sha3_generic`'s): without them the kernel
 * refuses every ESP SA (`ip xfrm`: "Requested AEAD algorithm not found"; charon: "unable to
 * initialize cryptographic operations"). The guest loads them at boot (BOOT_MODULES). aes, cbc, hmac, sha1 and sha256 are built into Debian's kernel.
 */
export const GUEST_MODULES = [
  ...BOOT_MODULES, 'tun',
  'ppp_generic', 'ppp_async', 'ppp_synctty', 'ppp_mppe', 'ppp_deflate', 'bsd_comp', 'pppox', 'pptp', 'gre',
  'ip_tunnel', 'ip_gre', // Linux's own GRE (`ip tunnel add … mode gre`), the peer of Postern's GRE sites
  'l2tp_core', 'l2tp_ppp', 'l2tp_netlink', 'l2tp_ip',
  'esp4', 'xfrm_user', 'af_key', 'xfrm4_tunnel', 'authenc', 'authencesn', 'echainiv', 'seqiv', 'gcm', 'ccm', 'ctr', 'ghash_generic',
  'des_generic', 'des3_ede_x86_64', 'sha512_generic', 'cmac', 'xcbc', 'chacha20poly1305',
];

/** Debian packages whose versions make up the cache key (what ends up in the image). */
const KEY_PACKAGES = [
  'linux-image-amd64', 'busybox-static', 'bash', 'libc6', 'libssl3', 'iproute2', 'kmod', 'ppp', 'pptp-linux', 'xl2tpd', 'sstp-client',
  'libsstp-api-0', 'socat', 'strongswan-charon', 'strongswan-swanctl', 'libstrongswan', 'libstrongswan-standard-plugins',
  'libcharon-extra-plugins', 'libevent-2.1-7',
];

export interface VmImage {
  readonly dir: string;
  readonly key: string;
  readonly kernelVersion: string;
  readonly vmlinux: string;
  readonly initramfs: string;
  /** Every path in the base archive that is a directory or a symlink (see parentDirs). */
  readonly baseDirs: ReadonlySet<string>;
  /** Built by this call (false: taken from the cache). */
  readonly built: boolean;
  readonly ms: number;
  readonly bytes: number;
}

interface Manifest {
  readonly key: string;
  readonly kernelVersion: string;
  readonly versions: Record<string, string>;
  readonly dirs: string[];
  readonly buildMs: number;
}

/** Why the image cannot be built here, or null when it can. */
export function vmImageMissing(): string | null {
  if (!kernelVersion()) return 'no Debian kernel (linux-image-amd64) installed';
  for (const f of ['/usr/bin/busybox', '/usr/sbin/pppd', '/usr/bin/kmod', '/usr/bin/xz']) if (!existsSync(f)) return `${f} is missing (scripts/install-deps.sh --lab)`;
  return null;
}

/** The newest installed kernel that has both its image and its modules. */
function kernelVersion(): string | null {
  if (!existsSync('/lib/modules')) return null;
  const versions = readdirSync('/lib/modules').filter((v) => existsSync(`/boot/vmlinuz-${v}`) && existsSync(`/lib/modules/${v}/modules.dep`));
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() ?? null;
}

/** Returns the cached image, building it first when the packages or this builder changed. */
export function vmImage(): VmImage {
  const started = Date.now();
  const kver = kernelVersion();
  if (!kver) throw new Error('vm: no Debian kernel installed (scripts/install-deps.sh --lab)');
  const versions = packageVersions();
  const key = cacheKey(kver, versions);
  const dir = join(CACHE_DIR, key);
  let built = false;
  if (!existsSync(join(dir, 'manifest.json'))) {
    build(dir, kver, versions, key);
    built = true;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const initramfs = join(dir, 'initramfs.cpio');
  return {
    dir, key, kernelVersion: kver, vmlinux: join(dir, 'vmlinux'), initramfs, baseDirs: new Set(manifest.dirs), built,
    ms: Date.now() - started, bytes: lstatSync(initramfs).size + lstatSync(join(dir, 'vmlinux')).size,
  };
}

function packageVersions(): Record<string, string> {
  const r = runSync(['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', ...KEY_PACKAGES]);
  const versions: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, version] = line.split(' ');
    if (name && version) versions[name] = version;
  }
  return versions;
}

function cacheKey(kver: string, versions: Record<string, string>): string {
  const h = createHash('sha256').update(kver).update(JSON.stringify(versions));
  for (const f of ['image-builder.ts', 'cpio.ts', 'guest-init.ts']) h.update(readFileSync(join(HERE, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * Builds into a private directory and renames it into place: two test files building at once both
 * succeed, the second rename finds the first one's image and drops its own.
 */
function build(dir: string, kver: string, versions: Record<string, string>, key: string): void {
  const started = Date.now();
  mkdirSync(CACHE_DIR, { recursive: true });
  sweepStaleBuilds();
  const tmp = join(CACHE_DIR, `.build-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    const root = join(tmp, 'root');
    mkdirSync(root, { recursive: true });
    populateRoot(root, kver);
    writeFileSync(join(tmp, 'vmlinux'), extractVmlinux(readFileSync(`/boot/vmlinuz-${kver}`)));
    const entries = [
      ...treeEntries(root),
      { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    ] as const;
    writeFileSync(join(tmp, 'initramfs.cpio'), encodeCpio(entries));
    const dirs = entries.filter((e) => e.kind === 'dir' || e.kind === 'symlink').map((e) => e.path);
    rmSync(root, { recursive: true, force: true });
    const manifest: Manifest = { key, kernelVersion: kver, versions, dirs, buildMs: Date.now() - started };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
    try {
      renameSync(tmp, dir);
    } catch (error) {
      if (!existsSync(join(dir, 'manifest.json'))) throw error;
      // Another process finished the same image first: use its copy.
    }
    pruneOtherImages(key);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Half-built directories of processes that died mid-build. */
function sweepStaleBuilds(): void {
  for (const name of readdirSync(CACHE_DIR)) {
    const pid = /^\.build-(\d+)-/.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}

/** Images for older package versions are dead weight (tens of MB each). */
function pruneOtherImages(key: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    if (!name.startsWith('.') && name !== key) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}

function populateRoot(root: string, kver: string): void {
  const copier = new RootCopier(root);
  // Debian 12 is merged-/usr: these are symlinks into usr/ on the host and so in the guest.
  for (const link of ['/bin', '/sbin', '/lib', '/lib64']) copier.copy(link);
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'etc', 'var', 'lab']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  symlinkSync('../run', join(root, 'var/run'));
  symlinkSync('../run/lock', join(root, 'var/lock'));

  for (const f of [...BINARIES, ...DLOPENED, ...TREES]) {
    if (!existsSync(f)) continue;
    if (lstatSync(f).isDirectory()) copier.copyTree(f);
    else copier.copy(f);
  }
  copier.copyLibraries();
  for (const link of KMOD_LINKS) if (!existsSync(join(root, link))) symlinkSync('../bin/kmod', join(root, link));
  installBusybox(root);
  installModules(root, kver);
  writeEtc(root);
  writeFileSync(join(root, 'init'), INIT_SCRIPT, { mode: 0o755 });
}

/**
 * Copies host paths into the root as they are: a symlink met on the way (a merged-/usr link, a
 * library's soname link) is recreated as a symlink and followed, so the guest resolves paths as the host.
 */
class RootCopier {
  readonly #root: string;
  readonly #elves = new Set<string>();
  readonly #done = new Set<string>();

  constructor(root: string) {
    this.#root = root;
  }

  copy(hostPath: string): void {
    if (this.#done.has(hostPath)) return;
    this.#done.add(hostPath);
    let cur = '/';
    for (const part of hostPath.split('/').filter(Boolean)) {
      const next = join(cur, part);
      const inRoot = join(this.#root, next);
      const st = lstatSync(next);
      if (st.isSymbolicLink()) {
        const target = readlinkSync(next);
        if (!existsSync(inRoot) && !isLink(inRoot)) symlinkSync(target, inRoot);
        this.copy(resolve(dirname(next), target));
        cur = realpathSync(next);
      } else if (st.isDirectory()) {
        mkdirSync(inRoot, { recursive: true });
        cur = next;
      } else {
        if (!existsSync(inRoot)) {
          copyFileSync(next, inRoot);
          chmodSync(inRoot, st.mode & 0o7777);
        }
        if (isElf(next)) this.#elves.add(next);
        cur = next;
      }
    }
  }

  copyTree(hostDir: string): void {
    this.copy(hostDir);
    for (const name of readdirSync(hostDir)) {
      const p = join(hostDir, name);
      if (lstatSync(p).isDirectory()) this.copyTree(p);
      else this.copy(p);
    }
  }

  /** Every shared library the copied ELF files need, found with ldd, recursively. */
  copyLibraries(): void {
    const seen = new Set<string>();
    let pending = [...this.#elves];
    while (pending.length > 0) {
      for (const elf of pending) {
        seen.add(elf);
        for (const lib of lddPaths(elf)) this.copy(lib);
      }
      pending = [...this.#elves].filter((e) => !seen.has(e));
    }
  }
}

const isLink = (p: string): boolean => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

function isElf(path: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, head, 0, 4, 0) === 4 && head.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

/** The absolute paths ldd prints (libraries and the loader); none for a static or non-ELF file. */
function lddPaths(elf: string): string[] {
  const r = spawnSync('ldd', [elf], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  if (/not found/.test(r.stdout)) throw new Error(`vm: ldd ${elf}: ${r.stdout}`);
  return [...r.stdout.matchAll(/(?:=> |^\s*)(\/\S+) \(0x/gm)].map((m) => m[1] as string);
}

/** busybox and a link for each applet that no real binary of the image already provides. */
function installBusybox(root: string): void {
  copyFileSync('/usr/bin/busybox', join(root, 'usr/bin/busybox'));
  chmodSync(join(root, 'usr/bin/busybox'), 0o755);
  const applets = mustRun(['/usr/bin/busybox', '--list']).split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) {
    if (['usr/bin', 'usr/sbin'].some((d) => existsSync(join(root, d, applet)) || isLink(join(root, d, applet)))) continue;
    symlinkSync('busybox', join(root, 'usr/bin', applet));
  }
}

/** The modules with what they depend on (modprobe --show-depends), then depmod over the copy. */
function installModules(root: string, kver: string): void {
  const files = new Set<string>();
  for (const mod of GUEST_MODULES) {
    const r = runSync(['modprobe', '-S', kver, '--show-depends', mod]);
    if (r.code !== 0) throw new Error(`vm: module ${mod}: ${r.stderr.trim()}`);
    for (const m of r.stdout.matchAll(/^insmod (\S+)/gm)) files.add(m[1] as string);
  }
  const base = `/usr/lib/modules/${kver}`;
  for (const f of files) {
    const rel = realpathSync(f).replace(/^\/usr\/lib\/modules\/[^/]+\//, '').replace(/^\/lib\/modules\/[^/]+\//, '');
    mkdirSync(dirname(join(root, base, rel)), { recursive: true });
    copyFileSync(f, join(root, base, rel));
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    if (existsSync(`/lib/modules/${kver}/${f}`)) copyFileSync(`/lib/modules/${kver}/${f}`, join(root, base, f));
  }
  mustRun(['depmod', '-b', root, kver], 60_000);
}

function writeEtc(root: string): void {
  const files: Record<string, string> = {
    'etc/passwd': 'root:x:0:0:root:/root:/usr/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
    'etc/nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
    'etc/hosts': '127.0.0.1 localhost\n',
    'etc/resolv.conf': '',
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
}

/**
 * The uncompressed kernel inside a bzImage: the first compressed stream (xz, zstd or gzip, as
 * scripts/extract-vmlinux looks for them) that unpacks to an ELF file.
 */
export function extractVmlinux(bzImage: Buffer): Buffer {
  const formats: Array<[Buffer, string[]]> = [
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), ['xz', '-dc', '--single-stream']],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), ['zstd', '-dc']],
    [Buffer.from([0x1f, 0x8b, 0x08]), ['gzip', '-dc']],
  ];
  for (const [magic, argv] of formats) {
    for (let at = bzImage.indexOf(magic); at >= 0; at = bzImage.indexOf(magic, at + 1)) {
      const r = spawnSync(argv[0] as string, argv.slice(1), { input: bzImage.subarray(at), maxBuffer: 512 * 1024 * 1024 });
      const out = r.stdout as Buffer | null;
      if (out && out.length > 4 && out.readUInt32BE(0) === 0x7f454c46) return out;
    }
  }
  throw new Error('vm: no ELF kernel found inside the bzImage');
}
