import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { isLeftoverTemp, writeFileAtomic } from './atomic-file.ts';
import { defaultConfig } from './defaults.ts';
import { withFileLock } from './file-lock.ts';
import { loadDocument, storableIssues } from './load-rules.ts';
import { migrate } from './migrations.ts';
import type { PosternConfig } from './types.ts';

/** What is stored per revision: the document and how it came to be, with a checksum against bit rot. */
export interface StoredRevision {
  readonly revision: number;
  readonly writtenAt: string;
  readonly author: string;
  readonly comment: string;
  readonly config: PosternConfig;
}
interface Envelope extends StoredRevision {
  readonly sha256: string;
}
export type RevisionInfo = Omit<StoredRevision, 'config'>;

export interface StoreOptions {
  readonly logger: Logger;
  readonly initial?: () => PosternConfig;
  /** How many past revisions to keep (besides the current one). */
  readonly keep?: number;
  /** How long a writer waits for another process's lock. */
  readonly lockWaitMs?: number;
}

const CURRENT = 'current.json';
const HISTORY = 'history';
const LOCK = 'lock';
const digest = (config: PosternConfig): string => createHash('sha256').update(JSON.stringify(config)).digest('hex');
const historyName = (revision: number): string => `${String(revision).padStart(10, '0')}.json`;

/**
 * The one source of truth: `current.json` plus numbered past revisions under history/. Writes are
 * atomic and serialized within the process (a queue) and across processes (a lock file); a corrupt
 * current file falls back to the newest good revision, loudly.
 */
export class ConfigStore {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #keep: number;
  readonly #lockWaitMs: number;
  #current: StoredRevision;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, options: StoreOptions, current: StoredRevision) {
    this.#dir = dir;
    this.#log = options.logger;
    this.#keep = options.keep ?? 20;
    this.#lockWaitMs = options.lockWaitMs ?? 10_000;
    this.#current = current;
  }

  static async open(dir: string, options: StoreOptions): Promise<ConfigStore> {
    mkdirSync(join(dir, HISTORY), { recursive: true, mode: 0o700 });
    // Another process may be writing right now: only a dead writer's temporary file is removed.
    // Each commit writes history/ first, so a kill leaves its temporary file there as often as here.
    for (const folder of [dir, join(dir, HISTORY)]) {
      for (const name of readdirSync(folder)) if (isLeftoverTemp(name)) rmSync(join(folder, name), { force: true });
    }
    const loaded = loadCurrent(dir, options.logger);
    if (loaded) {
      const store = new ConfigStore(dir, options, loaded.stored);
      if (loaded.needsRewrite) await store.#commit(loaded.stored.config, { author: 'postern', comment: loaded.needsRewrite });
      if (loaded.migratedFrom !== undefined) await withFileLock(join(dir, LOCK), store.#lockWaitMs, () => migrateHistory(dir, options.logger));
      return store;
    }
    const config = (options.initial ?? defaultConfig)();
    const placeholder: StoredRevision = { revision: 0, writtenAt: '', author: '', comment: '', config };
    const store = new ConfigStore(dir, options, placeholder);
    await store.write(config, { author: 'postern', comment: 'initial configuration' });
    return store;
  }

  current(): StoredRevision {
    return this.#current;
  }

  /**
   * Check with the rules the next start will load it by, then write atomically as the next revision:
   * nothing is committed that would not load unchanged (issue 15.3).
   */
  write(config: PosternConfig, meta: { author: string; comment?: string; expectedRevision?: number }): Promise<{ revision: number }> {
    const issues = storableIssues(config);
    if (issues.length > 0) return Promise.reject(new PosternError(ErrorCode.configInvalid, 'the configuration is invalid', issues));
    return this.#commit(config, meta);
  }

  history(): RevisionInfo[] {
    return this.#revisionsOnDisk()
      .map((r) => this.#read(join(this.#dir, HISTORY, historyName(r))))
      .filter((e): e is Envelope => e !== undefined)
      .map(({ revision, writtenAt, author, comment }) => ({ revision, writtenAt, author, comment }));
  }

  async get(revision: number): Promise<PosternConfig> {
    const envelope = Number.isInteger(revision) ? this.#read(join(this.#dir, HISTORY, historyName(revision))) : undefined;
    if (!envelope) throw new PosternError(ErrorCode.configUnreadable, `no readable revision ${revision}`);
    return envelope.config;
  }

  /** Makes an old revision current again, as a new revision (history is never rewritten). */
  async rollback(revision: number, meta: { author: string; comment?: string }): Promise<{ revision: number }> {
    const config = await this.get(revision);
    return this.write(migrate(config).doc as PosternConfig, { author: meta.author, comment: meta.comment ?? `rollback to revision ${revision}` });
  }

  #commit(config: PosternConfig, meta: { author: string; comment?: string; expectedRevision?: number }): Promise<{ revision: number }> {
    const run = () => withFileLock(join(this.#dir, LOCK), this.#lockWaitMs, () => this.#commitLocked(config, meta));
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #commitLocked(config: PosternConfig, meta: { author: string; comment?: string; expectedRevision?: number }): { revision: number } {
    // Another process may have written since we loaded: the file on disk decides the next number.
    const onDisk = this.#read(join(this.#dir, CURRENT));
    const latest = Math.max(onDisk?.revision ?? 0, this.#current.revision, ...this.#revisionsOnDisk());
    const currentRevision = onDisk?.revision ?? this.#current.revision;
    if (meta.expectedRevision !== undefined && meta.expectedRevision !== currentRevision) {
      throw new PosternError(ErrorCode.configConflict, `the configuration changed (revision ${currentRevision}, expected ${meta.expectedRevision})`);
    }
    const stored: StoredRevision = { revision: latest + 1, writtenAt: new Date().toISOString(), author: meta.author, comment: meta.comment ?? '', config };
    const text = `${JSON.stringify({ ...stored, sha256: digest(config) }, null, 2)}\n`;
    writeFileAtomic(join(this.#dir, HISTORY, historyName(stored.revision)), text);
    writeFileAtomic(join(this.#dir, CURRENT), text);
    this.#current = stored;
    this.#prune();
    this.#log.info('configuration committed', { revision: stored.revision, author: stored.author, comment: stored.comment });
    return { revision: stored.revision };
  }

  #revisionsOnDisk(): number[] {
    return readdirSync(join(this.#dir, HISTORY))
      .filter((n) => /^\d{10}\.json$/.test(n))
      .map((n) => Number(n.slice(0, 10)))
      .sort((a, b) => b - a);
  }

  #prune(): void {
    for (const revision of this.#revisionsOnDisk().slice(this.#keep + 1)) {
      unlinkSync(join(this.#dir, HISTORY, historyName(revision)));
    }
  }

  #read(path: string): Envelope | undefined {
    return readEnvelope(path).envelope;
  }
}

/** Reads and checks one stored revision; says why it is unusable. */
function readEnvelope(path: string): { envelope?: Envelope; why?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { why: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${(error as Error).message}` };
  }
  const e = parsed as Partial<Envelope> | null;
  if (!e || typeof e !== 'object' || typeof e.revision !== 'number' || typeof e.sha256 !== 'string' || !e.config) return { why: 'not a stored revision' };
  if (digest(e.config) !== e.sha256) return { why: 'checksum mismatch' };
  return { envelope: e as Envelope };
}

/** The current revision, migrated; or the newest good past one when current is damaged. */
function loadCurrent(dir: string, log: Logger): { stored: StoredRevision; needsRewrite?: string; migratedFrom?: number } | undefined {
  const currentPath = join(dir, CURRENT);
  const first = usable(readEnvelope(currentPath));
  if (first.stored) return first.migratedFrom ? { stored: first.stored, needsRewrite: `migrated from format ${first.migratedFrom}`, migratedFrom: first.migratedFrom } : { stored: first.stored };
  const hasHistory = readdirSync(join(dir, HISTORY)).some((n) => n.endsWith('.json'));
  if (first.why === 'missing' && !hasHistory) return undefined;
  if (existsSync(currentPath)) renameSync(currentPath, `${currentPath}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const revisions = readdirSync(join(dir, HISTORY)).filter((n) => /^\d{10}\.json$/.test(n)).sort().reverse();
  for (const name of revisions) {
    const candidate = usable(readEnvelope(join(dir, HISTORY, name)));
    if (candidate.stored) {
      log.error('CONFIGURATION FALLBACK: current.json is unusable, running the last good revision', { file: currentPath, why: first.why, revision: candidate.stored.revision });
      return { stored: candidate.stored, needsRewrite: `restored revision ${candidate.stored.revision} after a damaged current.json (${first.why})` };
    }
  }
  log.error('CONFIGURATION LOST: no usable revision, starting from defaults', { file: currentPath, why: first.why });
  return undefined;
}

/**
 * Past revisions of an older format moved to the current one in place, same numbers and authors:
 * format 3 stores users' NT hashes, and a clear password left in a history copy would defeat that
 * (issue 15.11). Rewritten atomically with a fresh checksum; one that cannot be migrated is left.
 */
function migrateHistory(dir: string, log: Logger): void {
  for (const name of readdirSync(join(dir, HISTORY)).filter((n) => /^\d{10}\.json$/.test(n))) {
    const path = join(dir, HISTORY, name);
    const { envelope } = readEnvelope(path);
    if (!envelope) continue;
    let migrated: ReturnType<typeof migrate>;
    try {
      migrated = migrate(envelope.config);
    } catch {
      continue;
    }
    if (migrated.from === migrated.to) continue;
    const config = migrated.doc as PosternConfig;
    writeFileAtomic(path, `${JSON.stringify({ ...envelope, config, sha256: digest(config) }, null, 2)}\n`);
    log.info('past revision moved to the current format', { revision: envelope.revision, from: migrated.from, to: migrated.to });
  }
}

function usable(read: { envelope?: Envelope; why?: string }): { stored?: StoredRevision; why?: string; migratedFrom?: number } {
  if (!read.envelope) return { why: read.why ?? 'unreadable' };
  const loaded = loadDocument(read.envelope.config);
  if (!loaded.ok) return { why: loaded.why };
  const stored = { ...read.envelope, config: loaded.config };
  return loaded.migratedFrom === undefined ? { stored } : { stored, migratedFrom: loaded.migratedFrom };
}
