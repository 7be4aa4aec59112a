/**
 * The admin password at rest: scrypt (RFC 7914) with a random salt, the parameters kept in the string
 * so they can be raised later without breaking old hashes: `scrypt$N$r$p$salt-b64$hash-b64`.
 *
 * The server uses the async forms: `crypto.scrypt` runs on libuv's thread pool, so a check (tens of
 * milliseconds, more on an ARM board) never stops the event loop that also carries IKE, SSTP and the API
 * (issue 15.4: sixteen parallel wrong logins with `scryptSync` pushed /healthz to 600 ms). The sync forms
 * stay for tools and tests that make a hash once, outside the running service.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

interface Parsed {
  readonly salt: Buffer;
  readonly expected: Buffer;
  readonly options: ScryptOptions;
}

const format = (salt: Buffer, key: Buffer) => `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
const newOptions: ScryptOptions = { N, r: R, p: P, maxmem: 64 * 1024 * 1024 };

/** The stored string, checked before any work: bounded parameters so a planted hash cannot cost minutes. */
function parse(stored: string | null | undefined): Parsed | undefined {
  const parts = (stored ?? '').split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20 || r > 32 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16 || expected.length > 64) return undefined;
  return { salt, expected, options: { N: n, r, p, maxmem: 256 * 1024 * 1024 } };
}

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password.normalize('NFKC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  return format(salt, scryptSync(password.normalize('NFKC'), salt, KEY_LENGTH, newOptions));
}

export async function hashPasswordAsync(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  return format(salt, await scryptAsync(password, salt, KEY_LENGTH, newOptions));
}

/** Constant time for a well-formed hash; false (never a throw) for anything else. Blocks: not for the server. */
export function verifyPassword(password: string, stored: string | null | undefined): boolean {
  const parsed = parse(stored);
  if (!parsed) return false;
  return timingSafeEqual(scryptSync(password.normalize('NFKC'), parsed.salt, parsed.expected.length, parsed.options), parsed.expected);
}

/** As verifyPassword, off the event loop; resolves false (never rejects) for anything malformed. */
export async function verifyPasswordAsync(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  try {
    return timingSafeEqual(await scryptAsync(password, parsed.salt, parsed.expected.length, parsed.options), parsed.expected);
  } catch {
    return false; // e.g. memory refused for the parameters: a failed check, not a crash
  }
}
