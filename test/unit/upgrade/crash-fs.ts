import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { SlotFs } from '../../../firmware/upgrade/slot-fs.ts';

export class PowerCut extends Error {}

interface Inode {
  data: Buffer;
  /** What storage holds: data reaches it only at fsync. */
  synced: Buffer;
}

/**
 * An in-memory file system with the durability rules that matter at a power cut: file data is on
 * storage only after fsync of the file, and a name (create, rename, unlink) only after fsync of its
 * directory. `cutAfter(n)` makes the n+1-th operation throw PowerCut; `reboot()` keeps only what was
 * durable, as the box would find it.
 */
export class CrashFs implements SlotFs {
  #entries = new Map<string, Inode>();
  #durable = new Map<string, Inode>();
  #fds = new Map<number, Inode>();
  #nextFd = 3;
  #ops = 0;
  #cutAt = Infinity;
  readonly log: string[] = [];

  get operations(): number {
    return this.#ops;
  }

  cutAfter(n: number): void {
    this.#cutAt = n;
  }

  /** Power back on: names and data as storage has them; open files are gone. */
  reboot(): void {
    this.#entries = new Map([...this.#durable].map(([name, inode]) => [name, inode]));
    for (const inode of new Set(this.#entries.values())) inode.data = inode.synced;
    this.#fds.clear();
    this.#cutAt = Infinity;
  }

  /** Writes a file and makes it durable at once (the box as it left the factory). */
  seed(path: string, data: Buffer): void {
    const inode = { data, synced: data };
    this.#entries.set(path, inode);
    this.#durable.set(path, inode);
  }

  #op(what: string): void {
    if (this.#ops >= this.#cutAt) throw new PowerCut(`power cut before ${what}`);
    this.#ops++;
    this.log.push(what);
  }

  readFile(path: string): Buffer | undefined {
    return this.#entries.get(path)?.data;
  }

  sha256(path: string): string | undefined {
    this.#op(`sha256 ${path}`);
    const inode = this.#entries.get(path);
    return inode ? createHash('sha256').update(inode.data).digest('hex') : undefined;
  }

  create(path: string): number {
    this.#op(`create ${path}`);
    const inode = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
    this.#entries.set(path, inode);
    const fd = this.#nextFd++;
    this.#fds.set(fd, inode);
    return fd;
  }

  write(fd: number, bytes: Buffer): void {
    this.#op(`write ${fd} ${bytes.length}`);
    const inode = this.#fds.get(fd);
    if (!inode) throw new Error('EBADF');
    inode.data = Buffer.concat([inode.data, bytes]);
  }

  fsync(fd: number): void {
    this.#op(`fsync ${fd}`);
    const inode = this.#fds.get(fd);
    if (!inode) throw new Error('EBADF');
    inode.synced = inode.data;
  }

  close(fd: number): void {
    this.#fds.delete(fd);
  }

  rename(from: string, to: string): void {
    this.#op(`rename ${from} ${to}`);
    const inode = this.#entries.get(from);
    if (!inode) throw new Error(`ENOENT ${from}`);
    this.#entries.delete(from);
    this.#entries.set(to, inode);
  }

  fsyncDir(dir: string): void {
    this.#op(`fsyncdir ${dir}`);
    for (const name of [...this.#durable.keys()]) if (dirname(name) === dir && !this.#entries.has(name)) this.#durable.delete(name);
    for (const [name, inode] of this.#entries) if (dirname(name) === dir) this.#durable.set(name, inode);
  }

  unlink(path: string): void {
    this.#op(`unlink ${path}`);
    this.#entries.delete(path);
  }
}
