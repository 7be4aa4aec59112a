import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { mountOf, parseMountinfo } from './mountinfo.ts';

/**
 * The single executable carries the data-plane driver as a SEA asset; the kernel maps shared objects
 * only from files, so it is written to a private directory and loaded from there. That directory
 * must be ours alone (0700, no symlink: another user swapping the file would run code as us) and on
 * a mount that allows execution; otherwise the service refuses to start and says why.
 */

const unusable = (dir: string, why: string): PosternError =>
  new PosternError(ErrorCode.driverUnavailable, `runtime directory ${dir} cannot hold the data-plane driver: ${why} (choose another with --runtime-dir)`);

/** Creates the directory if needed and checks it is private and exec-mounted; returns its real path. */
export function prepareRuntimeDir(dir: string, mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8')): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw unusable(dir, error instanceof Error ? error.message : String(error));
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw unusable(dir, 'it is not a directory (symbolic links are refused)');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw unusable(dir, `it belongs to uid ${st.uid}, not to this process (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  const real = realpathSync(dir);
  const mount = mountOf(parseMountinfo(mountinfo), real);
  if (mount?.options.includes('noexec')) {
    throw unusable(dir, `it is on ${mount.mountPoint} (${mount.fsType}), mounted noexec, so the kernel refuses to map the driver's code`);
  }
  return real;
}

/**
 * Writes the driver as postern_dp-<sha256 prefix>.node (kept when an identical copy is already
 * there: no flash wear at every start), through a temporary file and a rename so a crash never
 * leaves a half-written driver under the final name; older copies are removed. Returns its path.
 */
export function writeDriver(dir: string, bytes: Uint8Array): string {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const name = `postern_dp-${digest.slice(0, 16)}.node`;
  const path = join(dir, name);
  if (!(existsSync(path) && createHash('sha256').update(readFileSync(path)).digest('hex') === digest)) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o500);
    renameSync(tmp, path);
  }
  for (const other of readdirSync(dir)) {
    if (other !== name && /^\.?postern_dp-[0-9a-f]{16}\.node/.test(other)) rmSync(join(dir, other), { force: true });
  }
  return path;
}
