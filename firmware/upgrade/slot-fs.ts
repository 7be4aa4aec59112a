import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/**
 * The file operations the slot shell uses, and nothing else: tests put a file system behind it that
 * loses whatever was not synced at a simulated power cut (test/unit/upgrade/crash-fs.ts).
 */
export interface SlotFs {
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Buffer | undefined;
  /** SHA-256 (hex) of the file as stored, read back in pieces (an executable is ~100 MB); undefined when absent. */
  sha256(path: string): string | undefined;
  /** Creates or truncates for writing (mode 0755: slots hold executables). */
  create(path: string): number;
  write(fd: number, bytes: Buffer): void;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  fsyncDir(dir: string): void;
  /** No error when it does not exist. */
  unlink(path: string): void;
}

export const nodeSlotFs: SlotFs = {
  readFile: (path) => {
    try {
      return readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  sha256: (path) => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
      return h.digest('hex');
    } finally {
      closeSync(fd);
    }
  },
  create: (path) => openSync(path, 'w', 0o755),
  write: (fd, bytes) => {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  },
  fsync: (fd) => fsyncSync(fd),
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  fsyncDir: (dir) => {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  unlink: (path) => {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
};
