import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The "newc" cpio format the kernel unpacks as an initramfs (Documentation/driver-api/early-userspace/
 * buffer-format.rst):
 *
 *   c_magic[6] "070701" | 13 fields of 8 hex digits: ino mode uid gid nlink mtime filesize
 *   devmajor devminor rdevmajor rdevminor namesize check | name NUL, padded to 4 | data, padded to 4
 *
 * ending with an entry named "TRAILER!!!". The kernel reads several archives one after the other
 * (zeros between them are skipped), and a later entry replaces an earlier one with the same path:
 * a small archive appended to the base image is how a test gives the guest its own files.
 * Written here rather than with cpio(1) so that device nodes need no mknod and the output is
 * byte-for-byte reproducible (mtime 0, inode numbers in order).
 */

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Buffer | string; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'char'; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, nlink: number, size: number, rdev: readonly [number, number], nameSize: number): string {
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameSize, 0];
  return `070701${fields.map(hex8).join('')}`;
}

/** One archive holding the entries in order (a directory must come before what it holds). */
export function encodeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (path: string, mode: number, nlink: number, data: Buffer, rdev: readonly [number, number] = [0, 0]) => {
    const name = Buffer.from(`${path.replace(/^\/+/, '')}\0`);
    const head = Buffer.from(header(ino++, mode, nlink, data.length, rdev, name.length), 'ascii');
    parts.push(head, name, Buffer.alloc(pad4(head.length + name.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    switch (e.kind) {
      case 'dir':
        push(e.path, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0));
        break;
      case 'file':
        push(e.path, S_IFREG | (e.mode ?? 0o644), 1, typeof e.data === 'string' ? Buffer.from(e.data) : e.data);
        break;
      case 'symlink':
        push(e.path, S_IFLNK | 0o777, 1, Buffer.from(e.target));
        break;
      case 'char':
        push(e.path, S_IFCHR | (e.mode ?? 0o600), 1, Buffer.alloc(0), [e.major, e.minor]);
        break;
    }
  }
  push('TRAILER!!!', 0, 1, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** The entries for a directory tree on disk, parents first, in name order; paths relative to `root`. */
export function treeEntries(root: string, rel = ''): CpioEntry[] {
  const out: CpioEntry[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const full = join(root, path);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out.push({ kind: 'symlink', path, target: readlinkSync(full) });
    else if (st.isDirectory()) out.push({ kind: 'dir', path, mode: st.mode & 0o7777 }, ...treeEntries(root, path));
    else if (st.isFile()) out.push({ kind: 'file', path, data: readFileSync(full), mode: st.mode & 0o7777 });
  }
  return out;
}

/**
 * Directory entries for the parents of `paths` that the base archive lacks (shortest first). Never one
 * for a path the base has: the kernel replaces an entry of another type, so a directory entry for
 * `lib` would delete the merged-/usr symlink.
 */
export function parentDirs(paths: readonly string[], inBase: (path: string) => boolean): CpioEntry[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.replace(/^\/+/, '').split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!inBase(dir)) dirs.add(dir);
    }
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b)).map((path) => ({ kind: 'dir', path }));
}
