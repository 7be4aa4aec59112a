/**
 * A file of lines that grows by appending: the accounting spool's journal and the open-sessions
 * ledger. One descriptor is kept open for appends; whole rewrites (compaction) are atomic; the line
 * count is kept so the owner knows when a compaction pays. A write that fails is logged, never thrown:
 * the owner goes on in memory, and RADIUS with it.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { Logger } from '../log/logger.ts';

export class AppendedLines {
  readonly file: string;
  readonly #log: Logger | undefined;
  /** What a failed write is logged as ("RADIUS accounting spool not written"). */
  readonly #failure: string;
  #fd: number | undefined;
  #lines = 0;

  constructor(file: string, failure: string, log?: Logger) {
    this.file = file;
    this.#failure = failure;
    this.#log = log;
  }

  /** Lines in the file as written through this object (it counts from the last rewrite). */
  get lines(): number {
    return this.#lines;
  }

  /** The file's text; empty when there is none yet (or it cannot be read). */
  read(): string {
    try {
      return readFileSync(this.file, 'utf8');
    } catch {
      return '';
    }
  }

  /** One line (ending in a newline) at the end; `sync`: on the medium before this returns. */
  append(line: string, sync = false): void {
    this.#guard(() => {
      this.#fd ??= openSync(this.file, 'a', 0o600);
      writeSync(this.#fd, line);
      if (sync) fdatasyncSync(this.#fd);
      this.#lines++;
    });
  }

  /** The whole file replaced by `text` (newline-ended lines, or empty), atomically. */
  rewrite(text: string): void {
    this.#guard(() => {
      this.close();
      writeFileAtomic(this.file, text);
      let lines = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
      this.#lines = lines;
    });
  }

  /** Emptied in place (cheaper than a rewrite when nothing is left). */
  truncate(): void {
    this.#guard(() => {
      this.#fd ??= openSync(this.file, 'a', 0o600);
      ftruncateSync(this.#fd, 0);
      this.#lines = 0;
    });
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #guard(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.#log?.warn(this.#failure, { file: this.file, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
