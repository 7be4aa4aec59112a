/*
 * CHAP with MD5 (RFC 1994, algorithm 5): Response = MD5(Identifier | secret | Challenge) (§4.1).
 * Offered only when configured: it makes no keys (SSTP binds with a zero HLAK, PPTP cannot encrypt)
 * and a captured exchange can be brute-forced offline. Same retransmission rules as MS-CHAPv2.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import type { UserLookup } from '../../crypto/user-credential.ts';

export interface ChapMd5AuthenticatorOptions {
  /** The Name field of our Challenge (the gateway's host name). */
  readonly serverName: string;
  readonly users: UserLookup;
  readonly random: (n: number) => Uint8Array;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

export function chapMd5Response(identifier: number, secret: Secret<string>, challenge: Uint8Array): Buffer {
  return createHash('md5').update(Uint8Array.of(identifier)).update(Buffer.from(secret.reveal(), 'utf8')).update(challenge).digest();
}

export class ChapMd5Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  readonly drops: Record<string, number> = {};
  readonly #o: ChapMd5AuthenticatorOptions;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
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
    this.#due = undefined;
    const user = this.#o.users(p.name);
    // RFC 1994 §4.1 hashes the secret itself: only a user allowed CHAP-MD5 has it kept in clear.
    const secret = user?.password;
    const expected = secret ? chapMd5Response(this.#identifier, secret, this.#challenge) : Buffer.alloc(16);
    const ok = secret !== undefined && p.value.length === 16 && timingSafeEqual(expected, Buffer.from(p.value));
    this.#verdict = encodeChapPacket({ code: ok ? ChapCode.Success : ChapCode.Failure, identifier: this.#identifier, message: ok ? 'Welcome' : 'Authentication failure' });
    const why = !user ? 'unknown user' : !secret ? 'CHAP-MD5 is not allowed for this user (no password kept in clear)' : 'wrong password';
    return { send: [this.#verdict], outcome: ok ? { ok: true, user: p.name } : { ok: false, user: p.name, reason: why } };
  }

  tick(now: number): AuthStep {
    if (this.#due === undefined || now < this.#due) return { send: [] };
    if (this.#sent >= (this.#o.maxChallenges ?? 10)) {
      this.#due = undefined;
      return { send: [], outcome: { ok: false, reason: `no response to ${this.#sent} challenges` } };
    }
    return { send: [this.#challengePacket(now)] };
  }

  nextTimeout(): number | undefined {
    return this.#due;
  }

  #challengePacket(now: number): Uint8Array {
    this.#sent++;
    this.#due = now + (this.#o.restartMs ?? 3000);
    return encodeChapPacket({ code: ChapCode.Challenge, identifier: this.#identifier, value: this.#challenge, name: this.#o.serverName });
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { send: [] };
  }
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
