import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from '../util/process.ts';

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old file or the new
 * one, never a mix: write a temporary file in the same directory, fsync it, rename it over the
 * target (atomic within a filesystem), then fsync the directory so the rename itself is durable.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDirectory(dir);
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A temporary file left by a writer that died mid-write: its name (".current.json.tmp-<pid>-<ms>")
 * names a process no longer running. One of a live writer is its write in progress, never touched.
 */
export function isLeftoverTemp(name: string): boolean {
  const m = /^\..*\.tmp-(\d+)-\d+$/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  return pid !== process.pid && !isProcessAlive(pid);
}
