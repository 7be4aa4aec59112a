import { existsSync } from 'node:fs';

/**
 * What building for one architecture takes on a Debian x86-64 build machine: the C compiler and
 * strip for the driver and the runtime, and how to run the target's programs (the runtime making its
 * own SEA blob, the driver's C tests). arm64 programs run under qemu-user, called explicitly
 * (binfmt_misc is not mounted on the build machines), with Debian's multiarch arm64 libraries
 * (libc6:arm64, libstdc++6:arm64) as their runtime. Not with `-L /usr/aarch64-linux-gnu`: that
 * loader (libc6-arm64-cross) finds the multiarch libc.so.6 through /etc/ld.so.cache once
 * libssl-dev:arm64 is installed, a different glibc build, and every threaded program then spins
 * forever in its start-up (node and a 5-line pthread test alike).
 */
export interface Target {
  readonly arch: 'x64' | 'arm64' | 'armv7';
  /** sea: one executable; package: the bundle and the driver for the distribution's Node (armv7). */
  readonly form: 'sea' | 'package';
  readonly cc: string;
  readonly strip: string;
  /** Prefix for running one of the target's programs here (empty: native). */
  readonly runner: readonly string[];
}

export const TARGETS: Readonly<Record<Target['arch'], Target>> = {
  x64: { arch: 'x64', form: 'sea', cc: 'gcc', strip: 'strip', runner: [] },
  arm64: { arch: 'arm64', form: 'sea', cc: 'aarch64-linux-gnu-gcc', strip: 'aarch64-linux-gnu-strip', runner: ['qemu-aarch64-static'] },
  armv7: { arch: 'armv7', form: 'package', cc: 'arm-linux-gnueabihf-gcc', strip: 'arm-linux-gnueabihf-strip', runner: ['qemu-arm-static'] },
};

/** The target's own libraries its programs run with under qemu (Debian multiarch), and their packages. */
const MULTIARCH: Readonly<Record<Target['arch'], ReadonlyArray<readonly [string, string]>>> = {
  x64: [],
  arm64: [['/usr/lib/aarch64-linux-gnu/libcrypto.so', 'libssl-dev:arm64'], ['/usr/lib/aarch64-linux-gnu/libstdc++.so.6', 'libstdc++6:arm64'], ['/lib/ld-linux-aarch64.so.1', 'libc6:arm64']],
  armv7: [
    ['/usr/lib/arm-linux-gnueabihf/libcrypto.so', 'libssl-dev:armhf'], ['/usr/lib/arm-linux-gnueabihf/libstdc++.so.6', 'libstdc++6:armhf'],
    ['/usr/lib/arm-linux-gnueabihf/libatomic.so.1', 'libatomic1:armhf'], ['/lib/ld-linux-armhf.so.3', 'libc6:armhf'],
  ],
};

/** Why this machine cannot build for the target (scripts/install-deps.sh --firmware), or null. */
export function targetMissing(target: Target): string | null {
  if (process.arch !== 'x64' || process.platform !== 'linux') return `the firmware build runs on linux-x64, not ${process.platform}-${process.arch}`;
  const tools = [target.cc, target.strip, ...target.runner.slice(0, 1)];
  for (const tool of tools) {
    if (!['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(`${d}/${tool}`))) return `${tool} is missing (scripts/install-deps.sh --firmware)`;
  }
  for (const [file, pkg] of MULTIARCH[target.arch]) {
    if (!existsSync(file)) return `${pkg} is missing (scripts/install-deps.sh --firmware)`;
  }
  return null;
}
