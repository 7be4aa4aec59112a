/**
 * Dynamic authorization (RFC 5176), the NAS side, sans-I/O: `handle(datagram, now) → actions`.
 *
 * - Only configured clients (the DACs: a RADIUS server or a tool like radclient) are heard; any
 *   other source is dropped and counted (§5.1 "the NAS MUST silently discard ... from unknown
 *   clients").
 * - Request Authenticator and Message-Authenticator are checked (§3.5), Event-Timestamp must be
 *   within `timestampWindowSeconds` when present (§3.5: else silently discarded); a duplicate
 *   (same source, Identifier and Request Authenticator) gets the answer it got before and changes
 *   nothing again (RFC 5080 §2.2.2).
 * - Disconnect-Request ends every session its identification attributes (Acct-Session-Id,
 *   User-Name, Framed-IP-Address, Framed-IPv6-Prefix, Framed-IPv6-Address, Calling-Station-Id; all
 *   of those present must match) name; CoA-Request changes their Session-Timeout, Idle-Timeout and
 *   Acct-Interim-Interval (§3.2: all or nothing, so one session that cannot take a change NAKs the
 *   whole request). Anything else is NAKed with an Error-Cause (§3.6): 401 an attribute this NAS
 *   does not act on (Framed-Route, Filter-Id, ...: applied at login only), 402 no session
 *   identification, 403 the NAS identification names another NAS, 404 a CoA asking no change, 405
 *   Authorize-Only, 407 a value that is not a positive integer, 503 no such session.
 * The sessions come from an injected table (every protocol's live sessions); the actions say which
 * to end or change, and the shell does it before sending the ACK.
 */
import type { Secret } from '../util/secret.ts';
import { ipv6Text, parseIp } from '../util/ip.ts';
import { Attr, integerOf, ipv4Of, readInteger, textOf } from './attributes.ts';
import { checkComputedRequest, signResponse } from './authenticators.ts';
import { decodeFramedIpv6Prefix } from './framed-ipv6-prefix.ts';
import { Code, codeName, decodeRadiusPacket, type RadiusAttribute, type RadiusPacket } from './packet.ts';

export interface DasClient {
  readonly name: string;
  readonly address: string;
  readonly secret: Secret<Uint8Array>;
}

/** A live session as the DAS sees it (any protocol). */
export interface DasSession {
  /** The API's id (`sstp-3`, `ikev2-…`). */
  readonly id: string;
  readonly acctSessionId?: string;
  readonly user?: string;
  readonly framedIp?: string;
  /** The session's own /64 ("2001:db8:5::/64") and its IPv6 address, when it has them. */
  readonly framedIpv6Prefix?: string;
  readonly framedIpv6Address?: string;
  /** The client's public address (what accounting sends as Calling-Station-Id). */
  readonly peer?: string;
  /** What a CoA may change on it; absent: Session-Timeout only. */
  readonly changeable?: readonly SessionChangeKind[];
}

/** A CoA-Request's new limits for a session (RFC 2865 §5.27, §5.28; RFC 2869 §5.16), each from now. */
export interface SessionChange {
  readonly sessionTimeoutSeconds?: number;
  readonly idleTimeoutSeconds?: number;
  readonly interimSeconds?: number;
}
export type SessionChangeKind = keyof SessionChange;

/** The authorization attributes a CoA may carry and what each changes. */
const CHANGES: ReadonlyArray<{ readonly type: number; readonly kind: SessionChangeKind; readonly name: string }> = [
  { type: Attr.SessionTimeout, kind: 'sessionTimeoutSeconds', name: 'Session-Timeout' },
  { type: Attr.IdleTimeout, kind: 'idleTimeoutSeconds', name: 'Idle-Timeout' },
  { type: Attr.AcctInterimInterval, kind: 'interimSeconds', name: 'Acct-Interim-Interval' },
];

/** RFC 5176 §3.6 Error-Cause values this NAS sends. */
export const ErrorCause = {
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  NasIdentificationMismatch: 403,
  InvalidRequest: 404,
  UnsupportedService: 405,
  InvalidAttributeValue: 407,
  SessionContextNotFound: 503,
} as const;
type ErrorCauseValue = (typeof ErrorCause)[keyof typeof ErrorCause];

/** RFC 5176 §3.2: Service-Type Authorize Only asks the NAS to re-authorize, which this NAS does not. */
const AUTHORIZE_ONLY = 17;

const IDENTIFICATION = [Attr.AcctSessionId, Attr.UserName, Attr.FramedIpAddress, Attr.FramedIpv6Prefix, Attr.FramedIpv6Address, Attr.CallingStationId] as const;
const NAS_IDENTIFICATION = [Attr.NasIpAddress, Attr.NasIdentifier, Attr.NasIpv6Address] as const;
const ALWAYS_ALLOWED: readonly number[] = [...IDENTIFICATION, ...NAS_IDENTIFICATION, Attr.EventTimestamp, Attr.MessageAuthenticator, Attr.ProxyState];
const ALLOWED: Readonly<Record<number, readonly number[]>> = {
  [Code.DisconnectRequest]: ALWAYS_ALLOWED,
  [Code.CoaRequest]: [...ALWAYS_ALLOWED, ...CHANGES.map((c) => c.type), Attr.ServiceType],
};

export interface DasOptions {
  readonly clients: readonly DasClient[];
  /** NAS-Identifier this NAS answers to (radius.nasIdentifier, else the hostname). */
  readonly nasIdentifier: string;
  /** The box's IPv4 addresses: a NAS-IP-Address must be one of them. */
  readonly nasAddresses: () => readonly string[];
  readonly sessions: () => readonly DasSession[];
  /** RFC 5176 §3.5 suggests 300 s. */
  readonly timestampWindowSeconds?: number;
  /** How long an answer is kept for duplicates (RFC 5080 §2.2.2). */
  readonly duplicateWindowMs?: number;
}

export type DasEvent = { readonly type: 'RcvDatagram'; readonly address: string; readonly port: number; readonly bytes: Uint8Array };

export type DasAction =
  | { readonly type: 'Send'; readonly address: string; readonly port: number; readonly bytes: Uint8Array }
  | { readonly type: 'Disconnect'; readonly sessions: readonly string[]; readonly client: string }
  | { readonly type: 'Change'; readonly sessions: readonly string[]; readonly change: SessionChange; readonly client: string }
  | { readonly type: 'Log'; readonly level: 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };

export interface DasCounters {
  disconnectRequests: number;
  disconnectAcks: number;
  disconnectNaks: number;
  coaRequests: number;
  coaAcks: number;
  coaNaks: number;
  /** From a source that is no configured client: dropped. */
  unknownClients: number;
  /** Request Authenticator or Message-Authenticator wrong (a wrong secret, a forgery): dropped. */
  badAuthenticators: number;
  /** Undecodable, or a code other than CoA-Request / Disconnect-Request: dropped. */
  malformed: number;
  /** Event-Timestamp outside the window: dropped. */
  staleTimestamps: number;
  /** Retransmissions answered from the cache. */
  duplicates: number;
}

const zeroCounters = (): DasCounters => ({ disconnectRequests: 0, disconnectAcks: 0, disconnectNaks: 0, coaRequests: 0, coaAcks: 0, coaNaks: 0, unknownClients: 0, badAuthenticators: 0, malformed: 0, staleTimestamps: 0, duplicates: 0 });

const MAX_CACHED = 1024;

interface Verdict {
  readonly code: number;
  readonly attributes: readonly RadiusAttribute[];
  readonly actions: readonly DasAction[];
}

export class DasEngine {
  readonly #o: DasOptions;
  readonly #counters = zeroCounters();
  /** Answers by source, Identifier and Request Authenticator, oldest first. */
  readonly #answered = new Map<string, { readonly at: number; readonly bytes: Uint8Array }>();

  constructor(options: DasOptions) {
    this.#o = options;
  }

  counters(): Readonly<DasCounters> {
    return { ...this.#counters };
  }

  handle(event: DasEvent, now: number): DasAction[] {
    const { address, port, bytes } = event;
    const client = this.#o.clients.find((c) => c.address === address);
    if (!client) return this.#drop('unknownClients', `from ${address}, not a configured client`);
    const decoded = decodeRadiusPacket(bytes);
    if (!decoded.ok) return this.#drop('malformed', `from ${client.name}: ${decoded.error.message}`);
    const packet = decoded.value;
    if (packet.code !== Code.DisconnectRequest && packet.code !== Code.CoaRequest) return this.#drop('malformed', `${codeName(packet.code)} from ${client.name} is not a dynamic authorization request`);
    const check = checkComputedRequest(bytes, client.secret);
    if (check !== 'ok') return this.#drop('badAuthenticators', `${codeName(packet.code)} from ${client.name}: ${check} (wrong secret?)`);
    this.#expire(now);
    const key = `${address}:${port}:${packet.identifier}:${Buffer.from(packet.authenticator).toString('hex')}`;
    const cached = this.#answered.get(key);
    if (cached) {
      this.#counters.duplicates++;
      return [{ type: 'Send', address, port, bytes: cached.bytes }];
    }
    const timestamp = integerOf(packet.attributes, Attr.EventTimestamp);
    const window = this.#o.timestampWindowSeconds ?? 300;
    if (timestamp !== undefined && Math.abs(now / 1000 - timestamp) > window) return this.#drop('staleTimestamps', `${codeName(packet.code)} from ${client.name}: Event-Timestamp ${timestamp} is more than ${window} s off`);
    const disconnect = packet.code === Code.DisconnectRequest;
    this.#counters[disconnect ? 'disconnectRequests' : 'coaRequests']++;
    const verdict = this.#decide(packet, client);
    const ack = verdict.code === Code.DisconnectAck || verdict.code === Code.CoaAck;
    this.#counters[disconnect ? (ack ? 'disconnectAcks' : 'disconnectNaks') : ack ? 'coaAcks' : 'coaNaks']++;
    // Proxy-State is copied into the answer unchanged and in order (RFC 2865 §5.33).
    const proxyState = packet.attributes.filter((a) => a.type === Attr.ProxyState);
    const reply = signResponse(verdict.code, packet.identifier, [...verdict.attributes, ...proxyState], packet.authenticator, client.secret);
    this.#answered.set(key, { at: now, bytes: reply });
    if (this.#answered.size > MAX_CACHED) this.#answered.delete(this.#answered.keys().next().value!);
    return [...verdict.actions, { type: 'Send', address, port, bytes: reply }];
  }

  #decide(packet: RadiusPacket, client: DasClient): Verdict {
    const disconnect = packet.code === Code.DisconnectRequest;
    const nak = (cause: ErrorCauseValue, why: string): Verdict => ({
      code: disconnect ? Code.DisconnectNak : Code.CoaNak,
      attributes: [{ type: Attr.ErrorCause, value: Uint8Array.of(0, 0, cause >> 8, cause & 0xff) }],
      actions: [{ type: 'Log', level: 'warn', msg: `RADIUS ${codeName(packet.code)} refused`, fields: { client: client.name, errorCause: cause, why } }],
    });
    const attrs = packet.attributes;
    const serviceType = integerOf(attrs, Attr.ServiceType);
    if (serviceType === AUTHORIZE_ONLY) return nak(ErrorCause.UnsupportedService, 'Service-Type Authorize-Only (re-authorization) is not supported');
    const unsupported = attrs.find((a) => !(ALLOWED[packet.code] ?? []).includes(a.type) || (a.type === Attr.ServiceType && serviceType !== 2));
    if (unsupported) return nak(ErrorCause.UnsupportedAttribute, `attribute ${unsupported.type} is not acted on`);
    const mismatch = this.#nasMismatch(attrs);
    if (mismatch) return nak(ErrorCause.NasIdentificationMismatch, mismatch);
    if (!attrs.some((a) => (IDENTIFICATION as readonly number[]).includes(a.type))) return nak(ErrorCause.MissingAttribute, 'no session identification (Acct-Session-Id, User-Name, Framed-IP-Address, Calling-Station-Id)');
    const change = disconnect ? {} : changeOf(attrs);
    if (typeof change === 'string') return nak(ErrorCause.InvalidAttributeValue, change);
    if (!disconnect && Object.keys(change).length === 0) return nak(ErrorCause.InvalidRequest, 'the CoA-Request changes nothing this NAS supports (Session-Timeout, Idle-Timeout, Acct-Interim-Interval)');
    const matched = matchingSessions(this.#o.sessions(), attrs);
    if (matched === 'invalid') return nak(ErrorCause.InvalidAttributeValue, 'an identification attribute is not valid text or address');
    if (matched.length === 0) return nak(ErrorCause.SessionContextNotFound, 'no session matches');
    const ids = matched.map((s) => s.id);
    if (disconnect) {
      const fields = { client: client.name, sessions: ids };
      return { code: Code.DisconnectAck, attributes: [], actions: [{ type: 'Log', level: 'info', msg: 'RADIUS Disconnect-Request: ending sessions', fields }, { type: 'Disconnect', sessions: ids, client: client.name }] };
    }
    for (const s of matched) {
      const refused = CHANGES.find((c) => change[c.kind] !== undefined && !(s.changeable ?? ['sessionTimeoutSeconds']).includes(c.kind));
      if (refused) return nak(ErrorCause.UnsupportedAttribute, `${refused.name} cannot be changed on ${s.id}`);
    }
    const fields = { client: client.name, sessions: ids, ...change };
    return { code: Code.CoaAck, attributes: [], actions: [{ type: 'Log', level: 'info', msg: 'RADIUS CoA-Request: session limits changed', fields }, { type: 'Change', sessions: ids, change, client: client.name }] };
  }

  /** §3: NAS-IP-Address / NAS-Identifier present must name this NAS. IPv6 NAS identity is not configured here: any NAS-IPv6-Address mismatches. */
  #nasMismatch(attrs: readonly RadiusAttribute[]): string | undefined {
    const identifier = attrs.find((a) => a.type === Attr.NasIdentifier);
    if (identifier && textOf(attrs, Attr.NasIdentifier) !== this.#o.nasIdentifier) return 'NAS-Identifier names another NAS';
    if (attrs.some((a) => a.type === Attr.NasIpAddress)) {
      const address = ipv4Of(attrs, Attr.NasIpAddress);
      if (address === undefined || !this.#o.nasAddresses().includes(address)) return `NAS-IP-Address ${address ?? '(invalid)'} is not this NAS`;
    }
    if (attrs.some((a) => a.type === Attr.NasIpv6Address)) return 'NAS-IPv6-Address is not this NAS';
    return undefined;
  }

  #expire(now: number): void {
    const window = this.#o.duplicateWindowMs ?? 30_000;
    for (const [key, entry] of this.#answered) {
      if (now - entry.at < window) break;
      this.#answered.delete(key);
    }
  }

  #drop(counter: keyof DasCounters, why: string): DasAction[] {
    this.#counters[counter]++;
    return [{ type: 'Log', level: 'warn', msg: `RADIUS dynamic authorization request dropped: ${why}` }];
  }
}

/** The limits a CoA-Request sets (the first of each attribute), or why one is not a positive 32-bit integer. */
function changeOf(attrs: readonly RadiusAttribute[]): SessionChange | string {
  const change: Partial<Record<SessionChangeKind, number>> = {};
  for (const { type, kind, name } of CHANGES) {
    const attr = attrs.find((a) => a.type === type);
    if (!attr) continue;
    const seconds = readInteger(attr.value);
    if (seconds === undefined || seconds === 0) return `${name} must be a positive 32-bit integer`;
    change[kind] = seconds;
  }
  return change;
}

type Identified = 'acctSessionId' | 'user' | 'framedIp' | 'framedIpv6Prefix' | 'framedIpv6Address' | 'peer';
const FIELD: Readonly<Record<(typeof IDENTIFICATION)[number], Identified>> = {
  [Attr.AcctSessionId]: 'acctSessionId', [Attr.UserName]: 'user', [Attr.FramedIpAddress]: 'framedIp',
  [Attr.FramedIpv6Prefix]: 'framedIpv6Prefix', [Attr.FramedIpv6Address]: 'framedIpv6Address', [Attr.CallingStationId]: 'peer',
};

/** An identification attribute's value as the session table writes it (IPv6 in RFC 5952 text), undefined when it cannot be read. */
function identificationOf(type: (typeof IDENTIFICATION)[number], attrs: readonly RadiusAttribute[]): string | undefined {
  if (type === Attr.FramedIpAddress) return ipv4Of(attrs, type);
  const value = attrs.find((a) => a.type === type)!.value;
  if (type === Attr.FramedIpv6Prefix) {
    const decoded = decodeFramedIpv6Prefix(value);
    return 'prefix' in decoded ? decoded.prefix : undefined;
  }
  if (type === Attr.FramedIpv6Address) return value.length === 16 ? ipv6Text(value) : undefined;
  return textOf(attrs, type);
}

/** A session's IPv6 text in the same canonical form (RFC 5952), whatever form its table used. */
function canonicalIpv6(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const [address = '', length] = text.split('/');
  const ip = parseIp(address);
  return ip?.family === 6 ? `${ipv6Text(ip.bytes)}${length !== undefined ? `/${length}` : ''}` : text;
}

/** Sessions matching every identification attribute present; 'invalid' when one cannot be read. */
export function matchingSessions(sessions: readonly DasSession[], attrs: readonly RadiusAttribute[]): DasSession[] | 'invalid' {
  const wanted: Array<(s: DasSession) => boolean> = [];
  for (const type of IDENTIFICATION) {
    if (!attrs.some((a) => a.type === type)) continue;
    const value = identificationOf(type, attrs);
    if (value === undefined) return 'invalid';
    const field = FIELD[type];
    const ipv6 = field === 'framedIpv6Prefix' || field === 'framedIpv6Address';
    wanted.push((s) => (ipv6 ? canonicalIpv6(s[field]) : s[field]) === value);
  }
  return sessions.filter((s) => wanted.every((w) => w(s)));
}
