import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadBoardFile } from '../../firmware/board/load.ts';
import type { BoardProfile } from '../../firmware/board/types.ts';
import { placeBuiltDir } from './cache-dir.ts';
import { buildDriver } from './driver.ts';
import { must, nodeRuntime, NODE_RUNTIMES, type Runtime } from './runtime.ts';
import { TARGETS, type Target } from './targets.ts';

/**
 * `make firmware`: one single executable (Node SEA) per board. The esbuild bundle (with the web UI
 * and the board profile) is the SEA's main script; the driver, cross-compiled for the board's
 * architecture, is a SEA asset (written out and loaded at start, firmware/sea/). The blob is made by
 * the target's own runtime (under qemu for arm64: a blob or code cache made by another node crashes
 * the executable), then injected with postject into a stripped copy of that runtime.
 *
 * armv7 boards get a package instead (no current Node LTS for armv7l in the registry): the bundle,
 * the driver beside it and a launcher for the distribution's Node (>= 20), as postern-<board>.tar.gz.
 *
 * Results are cached in .cache/firmware/ (git-ignored) under a key over every input: the sources
 * that go into the bundle and the driver, the board profile, the runtime's hash and this builder.
 */

export const CACHE_DIR = resolve('.cache/firmware');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Folders and files whose content makes up the key (what the bundle and the driver are built from). */
const KEY_INPUTS = ['firmware', 'webui/src', 'webui/index.html', 'drivers/lib', 'drivers/napi', 'drivers/binding.gyp', 'scripts/build.mjs', 'scripts/build-webui.mjs', 'scripts/firmware', 'package-lock.json'];

export interface FirmwareManifest {
  readonly board: string;
  readonly arch: Target['arch'];
  readonly form: Target['form'];
  readonly key: string;
  readonly node: string;
  readonly nodeTarballSha256: string;
  readonly commit: string;
  readonly builtAt: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly sha256: string;
  readonly driverBytes: number;
  readonly buildMs: number;
}

export interface Firmware {
  readonly dir: string;
  /** sea: the single executable; package: the launcher script (its bundle postern.js beside it). */
  readonly executable: string;
  /** package: the tarball to install on the board. */
  readonly archive?: string;
  readonly board: BoardProfile;
  readonly manifest: FirmwareManifest;
  /** Built by this call (false: taken from the cache). */
  readonly built: boolean;
}

export interface BuildOptions {
  readonly log?: (line: string) => void;
  /** Another version than package.json's (the upgrade test's next build); cached apart from the usual one. */
  readonly version?: string;
}

/** The executable for board/<name>.json, from the cache or built now. */
export function buildFirmware(boardName: string, options: BuildOptions = {}): Firmware {
  const log = options.log ?? ((line: string) => process.stderr.write(`firmware: ${line}\n`));
  const boardFile = resolve('board', `${boardName}.json`);
  if (!existsSync(boardFile)) throw new Error(`no board profile board/${boardName}.json (have: ${listBoards().join(', ')})`);
  const board = loadBoardFile(boardFile);
  const target = TARGETS[board.architecture];
  const key = cacheKey(boardFile);
  // A build of another version is its own cache entry, never pruned by (nor pruning) the usual one.
  const stem = options.version ? `${board.name}@${options.version}` : board.name;
  const dir = join(CACHE_DIR, `${stem}-${key}`);
  const manifestFile = join(dir, 'manifest.json');
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as FirmwareManifest;
    return { dir, ...outputs(dir, manifest.form, board.name), board, manifest, built: false };
  }
  const started = Date.now();
  mkdirSync(CACHE_DIR, { recursive: true });
  const runtime = nodeRuntime(CACHE_DIR, target.arch, log);
  const tmp = join(CACHE_DIR, `.build-${board.name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    log(`${board.name}: bundle`);
    must([process.execPath, 'scripts/build.mjs', '--out', join(tmp, 'bundle'), '--board', boardFile, ...(options.version ? ['--version', options.version] : [])], 300_000);
    const driver = cachedDriver(target, runtime, log);
    copyFileSync(driver, join(tmp, 'postern_dp.node'));
    const made = target.form === 'sea' ? makeExecutable(target, runtime, tmp, board.name, log) : makePackage(target, runtime, tmp, board.name, log);
    const bytes = readFileSync(made.artefact);
    const identity = JSON.parse(must([...made.run, '--version', '--json'], 120_000)) as { version: string; commit: string; builtAt: string; board: string };
    if (identity.board !== board.name) throw new Error(`the built ${target.form} says board ${identity.board}, expected ${board.name}`);
    if (options.version && identity.version !== options.version) throw new Error(`the built ${target.form} says version ${identity.version}, expected ${options.version}`);
    const manifest: FirmwareManifest = {
      board: board.name, arch: target.arch, form: target.form, key, node: runtime.version, nodeTarballSha256: runtime.tarballSha256,
      commit: identity.commit, builtAt: identity.builtAt, bytes: bytes.length,
      gzipBytes: target.form === 'sea' ? gzipSync(bytes, { level: 6 }).length : bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'), driverBytes: statSync(driver).size, buildMs: Date.now() - started,
    };
    for (const f of ['sea.blob', 'sea-config.json', 'postern_dp.node']) rmSync(join(tmp, f), { force: true });
    rmSync(join(tmp, 'bundle'), { recursive: true, force: true });
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    placeBuiltDir(tmp, dir, 'manifest.json');
    pruneOthers(stem, key);
    return { dir, ...outputs(dir, target.form, board.name), board, manifest, built: true };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function outputs(dir: string, form: Target['form'], board: string): { executable: string; archive?: string } {
  return form === 'sea' ? { executable: join(dir, 'postern') } : { executable: join(dir, 'postern', 'postern'), archive: join(dir, `postern-${board}.tar.gz`) };
}

interface Made {
  /** What is measured and shipped: the executable, or the package's tarball. */
  readonly artefact: string;
  /** How to run it here (under qemu for another architecture). */
  readonly run: readonly string[];
}

function makeExecutable(target: Target, runtime: Runtime, tmp: string, board: string, log: (line: string) => void): Made {
  log(`${board}: SEA blob made by node ${runtime.version} ${target.arch}${target.runner.length ? ' under qemu' : ''}`);
  makeBlob(target, runtime, tmp);
  log(`${board}: executable (stripped runtime + blob)`);
  const executable = join(tmp, 'postern');
  copyFileSync(runtime.node, executable);
  chmodSync(executable, 0o755);
  must([target.strip, '--strip-all', executable], 120_000);
  must([resolve('node_modules/.bin/postject'), executable, 'NODE_SEA_BLOB', join(tmp, 'sea.blob'), '--sentinel-fuse', SEA_FUSE], 300_000);
  return { artefact: executable, run: [...target.runner, executable] };
}

/** The launcher of the armv7 package: the distribution's node runs the bundle beside it. */
const LAUNCHER = `#!/bin/sh
# Postern for armv7 boards: the bundle under the distribution's Node (20 or newer; POSTERN_NODE
# names another). The data-plane driver postern_dp.node sits beside the bundle.
here=$(dirname "$(readlink -f "$0")")
exec "\${POSTERN_NODE:-node}" "$here/postern.js" "$@"
`;

function makePackage(target: Target, runtime: Runtime, tmp: string, board: string, log: (line: string) => void): Made {
  log(`${board}: package for the distribution's node (bundle, driver, launcher)`);
  const dir = join(tmp, 'postern');
  mkdirSync(dir);
  copyFileSync(join(tmp, 'bundle', 'postern.js'), join(dir, 'postern.js'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  copyFileSync(join(tmp, 'postern_dp.node'), join(dir, 'postern_dp.node'));
  writeFileSync(join(dir, 'postern'), LAUNCHER, { mode: 0o755 });
  const archive = join(tmp, `postern-${board}.tar.gz`);
  must(['tar', 'czf', archive, '--owner=0', '--group=0', '-C', tmp, 'postern'], 120_000);
  // Its identity through the oldest Node it must run on (the last armv7l build), under qemu.
  return { artefact: archive, run: [...target.runner, runtime.node, join(dir, 'postern.js')] };
}

export function listBoards(): string[] {
  return readdirSync('board').filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** The SEA configuration and the blob, written by the target's runtime itself. */
function makeBlob(target: Target, runtime: Runtime, dir: string): void {
  const config = {
    main: 'bundle/postern.js',
    output: 'sea.blob',
    disableExperimentalSEAWarning: true,
    // The code cache is V8's compiled bytecode: made here by the same runtime, it spares every start
    // the compile of the bundle (a few hundred ms on a router's core, seconds under emulation).
    useCodeCache: true,
    assets: { 'postern_dp.node': 'postern_dp.node' },
  };
  writeFileSync(join(dir, 'sea-config.json'), JSON.stringify(config, null, 1));
  const r = spawnSync(target.runner[0] ?? runtime.node, [...target.runner.slice(1), ...(target.runner.length ? [runtime.node] : []), '--experimental-sea-config', 'sea-config.json'], {
    cwd: dir, encoding: 'utf8', timeout: 600_000,
  });
  if (r.status !== 0 || !existsSync(join(dir, 'sea.blob'))) throw new Error(`making the SEA blob failed (${r.error?.message ?? r.signal ?? r.status}): ${r.stderr}`);
}

/** The driver per architecture and driver sources, shared by every board of that architecture. */
function cachedDriver(target: Target, runtime: Runtime, log: (line: string) => void): string {
  const h = createHash('sha256').update(JSON.stringify(NODE_RUNTIMES[target.arch])).update(target.arch);
  for (const input of ['drivers/lib', 'drivers/napi', 'drivers/binding.gyp', 'scripts/firmware/driver.ts']) hashTree(h, input);
  const file = join(CACHE_DIR, `driver-${target.arch}-${h.digest('hex').slice(0, 16)}`, 'postern_dp.node');
  if (!existsSync(file)) {
    log(`driver for ${target.arch} (${target.cc}, node ${runtime.version} headers)`);
    buildDriver(target, runtime, file);
  }
  return file;
}

function cacheKey(boardFile: string): string {
  const h = createHash('sha256').update(JSON.stringify(NODE_RUNTIMES)).update(readFileSync(boardFile));
  // The update-signing public key built in (scripts/upgrade-key.mjs): another key is another image.
  const upgradeKey = process.env['POSTERN_UPGRADE_PUBLIC_KEY'] ?? '.cache/upgrade-keys/dev-public.pem';
  h.update(existsSync(upgradeKey) ? readFileSync(upgradeKey) : 'no-key');
  for (const input of KEY_INPUTS) hashTree(h, input);
  return h.digest('hex').slice(0, 16);
}

/** Names and contents of every file under a path, in a stable order. */
function hashTree(h: ReturnType<typeof createHash>, path: string): void {
  if (!existsSync(path)) return;
  if (statSync(path).isFile()) {
    h.update(`${path}\0`).update(readFileSync(path));
    return;
  }
  const files = (readdirSync(path, { recursive: true }) as string[]).map((f) => join(path, f)).filter((f) => statSync(f).isFile()).sort();
  for (const f of files) h.update(`${relative('.', f)}\0`).update(readFileSync(f));
}

/** Older builds of the same board, half-built directories of dead builds. */
function pruneOthers(board: string, key: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    if (name.startsWith(`${board}-`) && name !== `${board}-${key}` && /-[0-9a-f]{16}$/.test(name)) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}
