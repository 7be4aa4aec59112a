import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { redactConfig } from '../config/redact.ts';
import { migrate } from '../config/migrations.ts';
import { ConfigStore } from '../config/store.ts';
import { validateConfig } from '../config/validate.ts';
import { createLogger } from '../log/logger.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { stringFlag, type ParsedArgs } from './args.ts';

/** `postern config validate FILE`: every problem with its path; warnings for insecure choices. */
export async function configValidate(args: ParsedArgs): Promise<number> {
  const file = args.words[2];
  if (!file) throw new PosternError(ErrorCode.usage, 'config validate needs a FILE');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    process.stdout.write(`${file}: not a readable JSON document: ${(error as Error).message}\n`);
    return 1;
  }
  let migrated: unknown;
  try {
    migrated = migrate(doc).doc;
  } catch (error) {
    process.stdout.write(`${file}: ${(error as Error).message}\n`);
    return 1;
  }
  const result = validateConfig(migrated);
  for (const w of result.warnings) process.stdout.write(`warning: ${w.path}: ${w.message}\n`);
  if (!result.ok) {
    for (const e of result.errors) process.stdout.write(`error: ${e.path}: ${e.message}\n`);
    process.stdout.write(`${file}: invalid (${result.errors.length} error${result.errors.length === 1 ? '' : 's'})\n`);
    return 1;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}

async function openExistingStore(args: ParsedArgs): Promise<ConfigStore> {
  const dir = join(resolve(stringFlag(args, 'state') ?? 'var'), 'config');
  if (!existsSync(dir)) throw new PosternError(ErrorCode.configUnreadable, `no configuration under ${dir} (start Postern once, or pass --state)`);
  // Log lines go to stderr so that stdout stays the document alone.
  const logger = createLogger({ level: 'warn', sink: (r) => process.stderr.write(`${JSON.stringify(r)}\n`) });
  return ConfigStore.open(dir, { logger });
}

/** `postern config show`: the current (or a past) revision, secrets redacted. */
export async function configShow(args: ParsedArgs): Promise<number> {
  const store = await openExistingStore(args);
  const revision = stringFlag(args, 'revision');
  const config = revision === undefined ? store.current().config : await store.get(Number(revision));
  process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
  return 0;
}

export async function configHistory(args: ParsedArgs): Promise<number> {
  const store = await openExistingStore(args);
  for (const h of store.history()) {
    process.stdout.write(`${h.revision}\t${h.writtenAt}\t${h.author}\t${h.comment}\n`);
  }
  return 0;
}
