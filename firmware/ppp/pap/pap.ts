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
import type { PasswordVerification, PasswordVerifier } from '../../auth/password-verifier.ts';
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

const NOTHING: AuthStep = { send: [] };

/**
 * The authenticator waits; the peer sends (RFC 1334 §2.1): an overall timeout bounds the wait. The
 * password is checked by a `PasswordVerifier` (auth/: local users, RADIUS User-Password, or RADIUS
 * then local); a verdict that comes later is kept for the next tick, and repeated requests wait.
 */
export class PapAuthenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.PAP;
  readonly #verifier: PasswordVerifier;
  readonly #timeoutMs: number;
  readonly #wake: (() => void) | undefined;
  #due: number | undefined;
  #verifying = false;
  #ready: AuthStep | undefined;
  #verdict: { identifier: number; packet: Uint8Array } | undefined;

  constructor(verifier: PasswordVerifier, options: { readonly timeoutMs?: number; readonly wake?: () => void } = {}) {
    this.#verifier = verifier;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#wake = options.wake;
  }

  start(now: number): AuthStep {
    this.#due = now + this.#timeoutMs;
    return NOTHING;
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodePap(packet);
    if (!decoded.ok || decoded.value.code !== PapCode.AuthenticateRequest) return NOTHING;
    const p = decoded.value;
    // A repeated request (our Ack was lost) gets the same answer (§2.2.1).
    if (this.#verdict) return { send: this.#verdict.identifier === p.identifier ? [this.#verdict.packet] : [] };
    if (this.#verifying) return NOTHING;
    this.#due = undefined;
    let verdict: PasswordVerification | Promise<PasswordVerification>;
    try {
      verdict = this.#verifier.verify({ method: 'pap', userName: p.peerId, password: new Secret(Uint8Array.from(p.password)) });
    } catch (error) {
      verdict = refused(p.peerId, error);
    }
    if (!(verdict instanceof Promise)) return this.#decide(p.identifier, verdict);
    this.#verifying = true;
    verdict.then((v) => this.#settle(p.identifier, v), (error: unknown) => this.#settle(p.identifier, refused(p.peerId, error)));
    return NOTHING;
  }

  tick(now: number): AuthStep {
    if (this.#ready) {
      const step = this.#ready;
      this.#ready = undefined;
      return step;
    }
    if (this.#due === undefined || now < this.#due) return NOTHING;
    this.#due = undefined;
    return { send: [], outcome: { ok: false, reason: 'no PAP request' } };
  }

  nextTimeout(): number | undefined {
    return this.#ready ? 0 : this.#due;
  }

  #settle(identifier: number, v: PasswordVerification): void {
    this.#ready = this.#decide(identifier, v);
    this.#wake?.();
  }

  #decide(identifier: number, v: PasswordVerification): AuthStep {
    this.#verifying = false;
    const reply = encodePap({ code: v.ok ? PapCode.AuthenticateAck : PapCode.AuthenticateNak, identifier, message: v.ok ? 'Welcome' : 'Authentication failure' });
    this.#verdict = { identifier, packet: reply };
    if (!v.ok) return { send: [reply], outcome: { ok: false, user: v.user, reason: v.source === 'local' ? v.reason : `${v.reason} (${v.source})` } };
    return { send: [reply], outcome: { ok: true, user: v.user, ...(v.authorization ? { authorization: v.authorization } : {}) } };
  }
}

function refused(user: string, error: unknown): PasswordVerification {
  return { ok: false, user, source: 'local', reason: `verifier failed: ${error instanceof Error ? error.message : String(error)}`, noServer: false };
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
