/**
 * Pending HTTP-01 challenges (RFC 8555 §8.3): token → key authorization, set while the CA is asked to
 * validate and removed after. The publication listener answers
 * `/.well-known/acme-challenge/<token>` from here; nothing else reaches it.
 */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** §8.1: a token is base64url; §8.3 asks for at least 128 bits of entropy. Anything else is not ours. */
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
const MAX_PENDING = 64;

/** A tls-alpn-01 challenge certificate (RFC 8737 §3): self-signed, the acmeIdentifier extension inside. */
export interface AlpnChallengeCertificate {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export class AcmeChallenges {
  readonly #pending = new Map<string, string>();
  readonly #alpn = new Map<string, AlpnChallengeCertificate>();

  /** RFC 8737: served to a ClientHello naming `name` and offering only acme-tls/1. */
  setAlpn(name: string, certificate: AlpnChallengeCertificate): void {
    if (this.#alpn.size >= MAX_PENDING) this.#alpn.delete(this.#alpn.keys().next().value!);
    this.#alpn.set(name.toLowerCase(), certificate);
  }

  deleteAlpn(name: string): void {
    this.#alpn.delete(name.toLowerCase());
  }

  alpnCertificate(name: string | undefined): AlpnChallengeCertificate | undefined {
    return name === undefined ? undefined : this.#alpn.get(name.toLowerCase());
  }

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
