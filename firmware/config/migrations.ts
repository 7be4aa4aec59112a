import { ntHashHex } from '../crypto/user-credential.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';

/** The document format this build writes. Older formats are moved forward one step at a time. */
export const CURRENT_VERSION = 3;

type Doc = Record<string, unknown>;

/**
 * MIGRATIONS[n] takes a version-n document to version n+1. Each step is pure and keeps every
 * field it does not know about, so that validation (not the migration) reports what is wrong.
 */
const MIGRATIONS: Record<number, (doc: Doc) => Doc> = {
  /** v1 → v2: `peers` became `sites`; a user's `secret` became `password`. */
  1: (doc) => {
    const { peers, ...rest } = doc;
    const users = Array.isArray(doc['users'])
      ? (doc['users'] as unknown[]).map((u) => {
          if (u === null || typeof u !== 'object' || !('secret' in u)) return u;
          const { secret, ...user } = u as Doc;
          return { ...user, password: secret };
        })
      : doc['users'];
    return { ...rest, ...(peers === undefined ? {} : { sites: peers }), ...(users === undefined ? {} : { users }), version: 2 };
  },
  /**
   * v2 → v3: users' clear passwords become their NT hashes (issue 15.11). Nothing stored had a
   * CHAP-MD5 flag, so no clear password is kept; a user who needs CHAP-MD5 gets it set again.
   */
  2: (doc) => {
    const users = Array.isArray(doc['users'])
      ? (doc['users'] as unknown[]).map((u) => {
          if (u === null || typeof u !== 'object' || typeof (u as Doc)['password'] !== 'string') return u;
          const { password, ...user } = u as Doc;
          return { ...user, ntHash: ntHashHex(password as string) };
        })
      : doc['users'];
    return { ...doc, ...(users === undefined ? {} : { users }), version: 3 };
  },
};

export function migrate(doc: unknown): { doc: unknown; from: number; to: number } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { doc, from: CURRENT_VERSION, to: CURRENT_VERSION };
  const from = (doc as Doc)['version'];
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) {
    return { doc, from: CURRENT_VERSION, to: CURRENT_VERSION }; // validation reports the bad version field
  }
  if (from > CURRENT_VERSION) {
    throw new PosternError(ErrorCode.configMigration, `configuration format ${from} is newer than this firmware understands (${CURRENT_VERSION})`);
  }
  let current = doc as Doc;
  for (let v = from; v < CURRENT_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new PosternError(ErrorCode.configMigration, `no migration from format ${v}`);
    current = step(current);
  }
  return { doc: current, from, to: CURRENT_VERSION };
}
