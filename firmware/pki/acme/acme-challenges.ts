/**
 * Pending HTTP-01 challenges (RFC 8555 §8.3): token → key authorization, set while the CA is asked to
 * validate and removed after. The publication listener answers
 * `/.well-known/acme-challenge/<token>` from here; nothing else reaches it.
 */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** §8.1: a token is base64url; §8.3 asks for at least 128 bits of entropy. Anything else is not ours. */
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
const MAX_PENDING = 64;

export class AcmeChallenges {
  readonly #pending = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new Error(`not an ACME token: ${token.slice(0, 40)}`);
    if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
    this.#pending.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#pending.delete(token);
  }

  /** The key authorization for a request path, or undefined when the path is not a pending challenge. */
  answer(path: string | undefined): string | undefined {
    if (path === undefined || !path.startsWith(ACME_CHALLENGE_PREFIX)) return undefined;
    const token = path.slice(ACME_CHALLENGE_PREFIX.length);
    return TOKEN.test(token) ? this.#pending.get(token) : undefined;
  }

  get size(): number {
    return this.#pending.size;
  }
}
