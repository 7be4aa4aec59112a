/*
 * CHAP with MD5 (RFC 1994, algorithm 5): Response = MD5(Identifier | secret | Challenge) (§4.1).
 * Offered only when configured: it makes no keys (SSTP binds with a zero HLAK, PPTP cannot encrypt)
 * and a captured exchange can be brute-forced offline. Same retransmission rules as MS-CHAPv2.
 * The Response is checked by a `PasswordVerifier` (auth/: local users, RADIUS with CHAP-Password and
 * CHAP-Challenge, or RADIUS then local); a verdict that comes later is kept for the next tick.
 */
import type { PasswordVerification, PasswordVerifier } from '../../auth/password-verifier.ts';
import { chapMd5Response } from '../../crypto/chap-md5.ts';
import type { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';

export { chapMd5Response };

export interface ChapMd5AuthenticatorOptions {
  /** The Name field of our Challenge (the gateway's host name). */
  readonly serverName: string;
  readonly verifier: PasswordVerifier;
  readonly random: (n: number) => Uint8Array;
  /** Asks the shell to run the link's tick soon: a verdict that came later is ready. */
  readonly wake?: () => void;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

const NOTHING: AuthStep = { send: [] };

export class ChapMd5Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  readonly drops: Record<string, number> = {};
  readonly #o: ChapMd5AuthenticatorOptions;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
  #verifying = false;
  #ready: AuthStep | undefined;
  #verdict: Uint8Array | undefined;

  constructor(options: ChapMd5AuthenticatorOptions) {
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(16));
    return { send: [this.#challengePacket(now)] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    const p = decoded.value;
    if (p.code !== ChapCode.Response) return this.#drop(`code ${p.code} is for the peer`);
    if (p.identifier !== this.#identifier) return this.#drop('stale identifier');
    if (this.#verdict) return { send: [this.#verdict] };
    if (this.#verifying) return this.#drop('verification under way');
    this.#due = undefined;
    let verdict: PasswordVerification | Promise<PasswordVerification>;
    try {
      verdict = this.#o.verifier.verify({ method: 'chap-md5', userName: p.name, identifier: this.#identifier, challenge: this.#challenge, response: Uint8Array.from(p.value) });
    } catch (error) {
      verdict = refused(p.name, error);
    }
    if (!(verdict instanceof Promise)) return this.#decide(verdict);
    this.#verifying = true;
    verdict.then((v) => this.#settle(v), (error: unknown) => this.#settle(refused(p.name, error)));
    return NOTHING;
  }

  tick(now: number): AuthStep {
    if (this.#ready) {
      const step = this.#ready;
      this.#ready = undefined;
      return step;
    }
    if (this.#due === undefined || now < this.#due) return NOTHING;
    if (this.#sent >= (this.#o.maxChallenges ?? 10)) {
      this.#due = undefined;
      return { send: [], outcome: { ok: false, reason: `no response to ${this.#sent} challenges` } };
    }
    return { send: [this.#challengePacket(now)] };
  }

  nextTimeout(): number | undefined {
    return this.#ready ? 0 : this.#due;
  }

  #settle(v: PasswordVerification): void {
    this.#ready = this.#decide(v);
    this.#o.wake?.();
  }

  #decide(v: PasswordVerification): AuthStep {
    this.#verifying = false;
    this.#verdict = encodeChapPacket({ code: v.ok ? ChapCode.Success : ChapCode.Failure, identifier: this.#identifier, message: v.ok ? 'Welcome' : 'Authentication failure' });
    if (!v.ok) return { send: [this.#verdict], outcome: { ok: false, user: v.user, reason: v.source === 'local' ? v.reason : `${v.reason} (${v.source})` } };
    return { send: [this.#verdict], outcome: { ok: true, user: v.user, ...(v.authorization ? { authorization: v.authorization } : {}) } };
  }

  #challengePacket(now: number): Uint8Array {
    this.#sent++;
    this.#due = now + (this.#o.restartMs ?? 3000);
    return encodeChapPacket({ code: ChapCode.Challenge, identifier: this.#identifier, value: this.#challenge, name: this.#o.serverName });
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return NOTHING;
  }
}

function refused(user: string, error: unknown): PasswordVerification {
  return { ok: false, user, source: 'local', reason: `verifier failed: ${error instanceof Error ? error.message : String(error)}`, noServer: false };
}

export class ChapMd5Peer implements PppAuthPeer {
  readonly protocol = PppProtocol.CHAP;
  readonly #user: string;
  readonly #secret: Secret<string>;
  #identifier = -1;
  #done = false;

  constructor(user: string, secret: Secret<string>) {
    this.#user = user;
    this.#secret = secret;
  }

  start(): AuthStep {
    return { send: [] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok || this.#done) return { send: [] };
    const p = decoded.value;
    if (p.code === ChapCode.Challenge) {
      this.#identifier = p.identifier;
      return { send: [encodeChapPacket({ code: ChapCode.Response, identifier: p.identifier, value: chapMd5Response(p.identifier, this.#secret, p.value), name: this.#user })] };
    }
    if (p.identifier !== this.#identifier) return { send: [] };
    this.#done = true;
    return p.code === ChapCode.Success ? { send: [], outcome: { ok: true, user: this.#user } } : { send: [], outcome: { ok: false, reason: 'the server refused us' } };
  }

  tick(): AuthStep {
    return { send: [] };
  }

  nextTimeout(): number | undefined {
    return undefined;
  }
}
