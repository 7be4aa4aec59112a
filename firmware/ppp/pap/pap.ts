/*
 * PAP (RFC 1334 §2): the peer sends its name and password in clear, repeating until answered.
 *
 *   Authenticate-Request (1): | Code | Identifier | Length | Peer-ID Length | Peer-Id | Passwd-Length | Password |
 *   Authenticate-Ack (2) / -Nak (3): | Code | Identifier | Length | Msg-Length | Message |
 *
 * Off unless configured and flagged insecure: the password crosses the link in clear (inside SSTP's
 * TLS that is tolerable; over PPTP or plain L2TP it is not).
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';
import { passwordMatches, type UserCredential, type UserLookup } from '../../crypto/user-credential.ts';
import { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';

export const PapCode = { AuthenticateRequest: 1, AuthenticateAck: 2, AuthenticateNak: 3 } as const;

export type PapPacket =
  | { readonly code: 1; readonly identifier: number; readonly peerId: string; readonly password: Uint8Array }
  | { readonly code: 2 | 3; readonly identifier: number; readonly message: string };

export function decodePap(bytes: Uint8Array): Decoded<PapPacket> {
  if (bytes.length < 5) return fail('TRUNCATED', 'a PAP packet has a header and a length octet', 0);
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < 5 || length > bytes.length) return fail('INVALID_SYNTAX', `Length ${length} with ${bytes.length} bytes`, 2);
  const body = bytes.subarray(4, length);
  const first = body[0]!;
  if (1 + first > body.length) return fail('INVALID_SYNTAX', 'a length field overruns the packet', 4);
  if (code === PapCode.AuthenticateRequest) {
    const pwLength = body[1 + first];
    if (pwLength === undefined || 2 + first + pwLength > body.length) return fail('INVALID_SYNTAX', 'Passwd-Length overruns the packet', 5 + first);
    return ok({ code, identifier, peerId: Buffer.from(body.subarray(1, 1 + first)).toString('utf8'), password: body.slice(2 + first, 2 + first + pwLength) });
  }
  if (code === PapCode.AuthenticateAck || code === PapCode.AuthenticateNak) return ok({ code, identifier, message: Buffer.from(body.subarray(1, 1 + first)).toString('latin1') });
  return fail('INVALID_SYNTAX', `PAP code ${code}`, 0);
}

export function encodePap(p: PapPacket): Uint8Array {
  const fields = p.code === PapCode.AuthenticateRequest
    ? [Buffer.from(p.peerId, 'utf8'), Buffer.from(p.password)]
    : [Buffer.from(p.message, 'latin1')];
  const body = Buffer.concat(fields.flatMap((f) => [Uint8Array.of(Math.min(f.length, 255)), f.subarray(0, 255)]));
  return Uint8Array.from(Buffer.concat([Uint8Array.of(p.code, p.identifier & 0xff, ((4 + body.length) >> 8) & 0xff, (4 + body.length) & 0xff), body]));
}

/** Stands in for an unknown user so that the same work is done. */
const NO_USER: UserCredential = { ntHash: new Secret(new Uint8Array(16)) };

/** The authenticator waits; the peer sends (RFC 1334 §2.1): an overall timeout bounds the wait. */
export class PapAuthenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.PAP;
  readonly #users: UserLookup;
  readonly #timeoutMs: number;
  #due: number | undefined;
  #verdict: { identifier: number; packet: Uint8Array } | undefined;

  constructor(users: UserLookup, timeoutMs = 30_000) {
    this.#users = users;
    this.#timeoutMs = timeoutMs;
  }

  start(now: number): AuthStep {
    this.#due = now + this.#timeoutMs;
    return { send: [] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodePap(packet);
    if (!decoded.ok || decoded.value.code !== PapCode.AuthenticateRequest) return { send: [] };
    const p = decoded.value;
    // A repeated request (our Ack was lost) gets the same answer (§2.2.1).
    if (this.#verdict) return { send: this.#verdict.identifier === p.identifier ? [this.#verdict.packet] : [] };
    this.#due = undefined;
    const secret = this.#users(p.peerId);
    // Only the NT hash is stored: the given password is hashed the same way and compared in constant
    // time (an unknown user costs the same hashing, so timing does not tell users apart).
    const given = Buffer.from(p.password).toString('utf8');
    const good = passwordMatches(secret ?? NO_USER, given) && secret !== undefined;
    const reply = encodePap({ code: good ? PapCode.AuthenticateAck : PapCode.AuthenticateNak, identifier: p.identifier, message: good ? 'Welcome' : 'Authentication failure' });
    this.#verdict = { identifier: p.identifier, packet: reply };
    return { send: [reply], outcome: good ? { ok: true, user: p.peerId } : { ok: false, user: p.peerId, reason: secret ? 'wrong password' : 'unknown user' } };
  }

  tick(now: number): AuthStep {
    if (this.#due === undefined || now < this.#due) return { send: [] };
    this.#due = undefined;
    return { send: [], outcome: { ok: false, reason: 'no PAP request' } };
  }

  nextTimeout(): number | undefined {
    return this.#due;
  }
}

export class PapPeer implements PppAuthPeer {
  readonly protocol = PppProtocol.PAP;
  readonly #request: Uint8Array;
  readonly #identifier: number;
  #due: number | undefined;
  #tries = 0;

  constructor(user: string, password: Secret<string>, identifier = 1) {
    this.#identifier = identifier & 0xff;
    this.#request = encodePap({ code: PapCode.AuthenticateRequest, identifier: this.#identifier, peerId: user, password: Buffer.from(password.reveal(), 'utf8') });
  }

  start(now: number): AuthStep {
    this.#tries = 1;
    this.#due = now + 3000;
    return { send: [this.#request] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodePap(packet);
    if (!decoded.ok || decoded.value.identifier !== this.#identifier || decoded.value.code === PapCode.AuthenticateRequest || this.#due === undefined) return { send: [] };
    this.#due = undefined;
    return decoded.value.code === PapCode.AuthenticateAck ? { send: [], outcome: { ok: true, user: '' } } : { send: [], outcome: { ok: false, reason: `refused: ${decoded.value.message}` } };
  }

  tick(now: number): AuthStep {
    if (this.#due === undefined || now < this.#due) return { send: [] };
    if (this.#tries >= 10) {
      this.#due = undefined;
      return { send: [], outcome: { ok: false, reason: 'no answer to 10 PAP requests' } };
    }
    this.#tries++;
    this.#due = now + 3000;
    return { send: [this.#request] };
  }

  nextTimeout(): number | undefined {
    return this.#due;
  }
}
