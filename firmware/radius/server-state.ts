/**
 * What the RADIUS client knows of one server: its identifier spaces (one per port, since RFC 2865
 * §3 scopes the Identifier to source and destination address and port), whether it is alive, and
 * its counters. Pure data and small pure helpers; the engine decides.
 */
import type { Secret } from '../util/secret.ts';

export interface RadiusServer {
  /** Stable name in logs, counters and results. */
  readonly name: string;
  readonly address: string;
  readonly authPort: number;
  readonly acctPort: number;
  readonly secret: Secret<Uint8Array>;
  /**
   * 'tls': RadSec (RFC 6614), auth and accounting on one TLS connection to `authPort`; the shell
   * owns the connection. One Identifier space per connection (§2.5), no retransmission on it.
   */
  readonly transport?: 'udp' | 'tls';
  /** This server's IRT and retransmissions (RFC 5080 §2.2.1); the client's when absent. */
  readonly initialTimeoutMs?: number;
  readonly maxRetransmits?: number;
}

export type PortKind = 'auth' | 'acct';

/** The Identifier space a request of this kind takes: per port over UDP, the connection's one over TLS. */
export const spaceOf = (spec: RadiusServer, kind: PortKind): PortKind => (spec.transport === 'tls' ? 'auth' : kind);

export interface ServerCounters {
  /** Requests sent here for the first time (a failover counts on the server it moves to). */
  requests: number;
  retransmissions: number;
  accepts: number;
  rejects: number;
  challenges: number;
  accountingResponses: number;
  /** Requests this server left unanswered after every retransmission. */
  timeouts: number;
  /** Responses whose Response Authenticator or Message-Authenticator was wrong: dropped. */
  badAuthenticators: number;
  /** Access-* responses without Message-Authenticator: dropped (Blast-RADIUS, CVE-2024-3596). */
  missingMessageAuthenticator: number;
  /** Undecodable responses, or codes that do not answer the request: dropped. */
  malformed: number;
  /** Responses to no outstanding request (late, duplicate, or forged): dropped. */
  unknownIdentifier: number;
  statusServerProbes: number;
}

export const zeroCounters = (): ServerCounters => ({
  requests: 0,
  retransmissions: 0,
  accepts: 0,
  rejects: 0,
  challenges: 0,
  accountingResponses: 0,
  timeouts: 0,
  badAuthenticators: 0,
  missingMessageAuthenticator: 0,
  malformed: 0,
  unknownIdentifier: 0,
  statusServerProbes: 0,
});

export interface ServerState<Owner> {
  readonly spec: RadiusServer;
  /** Identifier → whoever holds it, per port. */
  readonly inFlight: Record<PortKind, Map<number, Owner>>;
  readonly nextIdentifier: Record<PortKind, number>;
  /** Set while the server is considered dead (RFC 5080 §2.2.1). */
  deadSince?: number;
  lastResponseAt?: number;
  readonly counters: ServerCounters;
}

export function newServerState<Owner>(spec: RadiusServer): ServerState<Owner> {
  return { spec, inFlight: { auth: new Map(), acct: new Map() }, nextIdentifier: { auth: 0, acct: 0 }, counters: zeroCounters() };
}

/** The next free Identifier on that port, taken round-robin so a late answer rarely meets a reused one; undefined when all 256 are in use. */
export function takeIdentifier<Owner>(server: ServerState<Owner>, kind: PortKind, owner: Owner): number | undefined {
  const inFlight = server.inFlight[kind];
  if (inFlight.size >= 256) return undefined;
  let id = server.nextIdentifier[kind];
  while (inFlight.has(id)) id = (id + 1) & 0xff;
  inFlight.set(id, owner);
  server.nextIdentifier[kind] = (id + 1) & 0xff;
  return id;
}

export const portOf = (spec: RadiusServer, kind: PortKind): number => (kind === 'auth' || spec.transport === 'tls' ? spec.authPort : spec.acctPort);

/** Per-server counters flattened for a subsystem's status (/healthz, MQTT): `radius.<server>.<counter>`, alive as 1/0. */
export function flatRadiusCounters(counters: Readonly<Record<string, ServerCounters & { readonly alive: boolean }>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [server, c] of Object.entries(counters)) {
    for (const [name, value] of Object.entries(c)) out[`radius.${server}.${name}`] = typeof value === 'boolean' ? Number(value) : value;
  }
  return out;
}
