/*
 * The gateway's side of the CHAP methods whose verdict comes from a `PasswordVerifier` (auth/: local
 * users, RADIUS, or RADIUS then local): CHAP-MD5 and MS-CHAPv1. One Challenge of random octets,
 * repeated every `restartMs` until a Response (RFC 1994 §4.1), the Response turned into the verifier's
 * question by the method, a verdict that comes later kept for the next tick, and the Success or
 * Failure repeated to a retransmitted Response. What differs per method is `ChapVerdictMethod`.
 */
import type { PasswordAttempt, PasswordVerification, PasswordVerifier } from '../../auth/password-verifier.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';

export interface ChapVerdictMethod {
  readonly challengeLength: number;
  /** The verifier's question for a Response's Value, or why it is refused without asking. */
  attempt(response: { readonly name: string; readonly value: Uint8Array }, identifier: number, challenge: Uint8Array): PasswordAttempt | { readonly refuse: string };
  /** The text of our Failure for a refusal. */
  failureMessage(verdict: PasswordVerification & { ok: false }): string;
  /** Whether the verdict's MPPE start keys go into the outcome (MS-CHAPv1 makes them; CHAP-MD5 none). */
  readonly keyed: boolean;
}

export interface ChapVerdictOptions {
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

export class ChapVerdictAuthenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  /** Packets ignored, by reason (a stale identifier, a malformed packet, a code for peers). */
  readonly drops: Record<string, number> = {};
  readonly #method: ChapVerdictMethod;
  readonly #o: ChapVerdictOptions;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
  #verifying = false;
  /** A verdict that came later, waiting for the next tick. */
  #ready: AuthStep | undefined;
  /** Once decided: the packet to repeat if the same Response comes again. */
  #verdict: Uint8Array | undefined;

  constructor(method: ChapVerdictMethod, options: ChapVerdictOptions) {
    this.#method = method;
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(this.#method.challengeLength));
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
    const attempt = this.#method.attempt({ name: p.name, value: Uint8Array.from(p.value) }, this.#identifier, this.#challenge);
    if ('refuse' in attempt) return this.#decide(refused(p.name, attempt.refuse));
    let verdict: PasswordVerification | Promise<PasswordVerification>;
    try {
      verdict = this.#o.verifier.verify(attempt);
    } catch (error) {
      verdict = refused(p.name, verifierFailed(error));
    }
    if (!(verdict instanceof Promise)) return this.#decide(verdict);
    this.#verifying = true;
    verdict.then((v) => this.#settle(v), (error: unknown) => this.#settle(refused(p.name, verifierFailed(error))));
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
    if (!v.ok) {
      this.#verdict = encodeChapPacket({ code: ChapCode.Failure, identifier: this.#identifier, message: this.#method.failureMessage(v) });
      return { send: [this.#verdict], outcome: { ok: false, user: v.user, reason: v.source === 'local' ? v.reason : `${v.reason} (${v.source})` } };
    }
    this.#verdict = encodeChapPacket({ code: ChapCode.Success, identifier: this.#identifier, message: 'Welcome' });
    const keys = this.#method.keyed && v.mppe ? { keys: { mppe: v.mppe } } : {};
    return { send: [this.#verdict], outcome: { ok: true, user: v.user, ...keys, ...(v.authorization ? { authorization: v.authorization } : {}) } };
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

const verifierFailed = (error: unknown) => `verifier failed: ${error instanceof Error ? error.message : String(error)}`;

function refused(user: string, reason: string): PasswordVerification {
  return { ok: false, user, source: 'local', reason, noServer: false };
}
