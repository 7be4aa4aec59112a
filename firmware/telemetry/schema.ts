/**
 * Fleet telemetry over MQTT: the topics and the JSON messages, version 1.
 *
 * Every message Postern publishes carries `schema: 1`; a consumer that sees another number must
 * not guess at the fields. Fields are only ever added within a version, never renamed or retyped.
 * `ts` is ISO 8601 in UTC (as in the logs), set by the gateway's clock when the message is made.
 *
 *   <prefix>/<deviceId>/state           retained  StateMessage          online / offline (the Last Will)
 *   <prefix>/<deviceId>/status                    StatusMessage         every intervalSeconds, QoS 0
 *   <prefix>/<deviceId>/events                    EventMessage          QoS 1, buffered while offline
 *   <prefix>/<deviceId>/config/version  retained  ConfigVersionMessage  the configuration revision
 *   <prefix>/<deviceId>/cmd             (in)      CommandMessage        only when commands are enabled
 *   <prefix>/<deviceId>/reply                     ReplyMessage          one per command, QoS 1
 *   <prefix>/<deviceId>/reply/…                   ReplyMessage          an MQTT 5 request's response topic (command-request.ts)
 */

export const SCHEMA_VERSION = 1;
export const DEFAULT_PREFIX = 'postern';

export interface Topics {
  readonly state: string;
  readonly status: string;
  readonly events: string;
  readonly configVersion: string;
  readonly cmd: string;
  readonly reply: string;
}

/** A topic level must not hold MQTT wildcards, a separator or NUL, and must not be empty. */
const BAD_LEVEL = /[+#/\u0000]/;

/** A prefix may span several levels ("acme/branches"), each of them a valid level. */
export function validTopicParts(prefix: string, deviceId: string): boolean {
  return [...prefix.split('/'), deviceId].every((level) => level.length > 0 && !BAD_LEVEL.test(level));
}

export function topicsFor(prefix: string, deviceId: string): Topics {
  const base = `${prefix}/${deviceId}`;
  return {
    state: `${base}/state`,
    status: `${base}/status`,
    events: `${base}/events`,
    configVersion: `${base}/config/version`,
    cmd: `${base}/cmd`,
    reply: `${base}/reply`,
  };
}

/**
 * Retained. `online` once connected (and subscribed to commands, when enabled); `offline` on a
 * clean stop, or published by the broker as the Last Will when the connection dies. A Will's `ts`
 * is the time of the connect it was registered with, not the time of death.
 */
export interface StateMessage {
  readonly schema: typeof SCHEMA_VERSION;
  readonly state: 'online' | 'offline';
  readonly ts: string;
  /** The firmware version. */
  readonly version: string;
}

export interface Temperature {
  readonly name: string;
  readonly celsius: number;
}

export interface InterfaceStatus {
  readonly name: string;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly up: boolean;
}

/** Sessions up now, per remote-access protocol. */
export interface SessionCounts {
  readonly ikev2: number;
  readonly sstp: number;
  readonly l2tp: number;
  readonly pptp: number;
}

/** A site-to-site tunnel, by its configured name. */
export interface TunnelStatus {
  readonly name: string;
  readonly state: string;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** State 'unavailable': why the site does not run (its protocol is not in this build, issue 25). */
  readonly reason?: string;
  /** GRE sites: their counters (keepalives, drops by cause: badKey, badChecksum, outOfOrder, otherSource), as the API has them. */
  readonly counters?: Readonly<Record<string, number>>;
}

/** Periodic health. Byte counters are totals since the interface or tunnel came up. */
export interface StatusMessage {
  readonly schema: typeof SCHEMA_VERSION;
  readonly ts: string;
  readonly uptimeSeconds: number;
  /** Load averages over 1, 5 and 15 minutes. */
  readonly load: readonly [number, number, number];
  readonly memory: { readonly totalBytes: number; readonly usedBytes: number };
  /** Empty when the board has no readable sensor. */
  readonly temperatures: readonly Temperature[];
  readonly interfaces: readonly InterfaceStatus[];
  readonly sessions: SessionCounts;
  readonly tunnels: readonly TunnelStatus[];
  /** Subsystems' counters (refusals, evictions, timeouts) by subsystem name, as their status in /healthz has them. */
  readonly counters?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Certificates in use (gateway, its imported chain, the CA) and their expiry; `warning` within 30 days. */
  readonly certificates?: readonly CertificateStatus[];
  /** The WAN as the listeners bind it (issue 18): its interface, why that one, its addresses. */
  readonly wan?: WanStatus;
  /** The board profile the gateway runs with (issue 18). */
  readonly board?: string;
  /** RADIUS (issue 21), while a listener asks it: each server's state and last answer, and the accounting records waiting. */
  readonly radius?: RadiusStatus;
}

export interface RadiusStatus {
  /** Accounting records no server acknowledged yet (all listeners). */
  readonly backlog: number;
  readonly servers: ReadonlyArray<{ readonly name: string; readonly state: 'alive' | 'dead' | 'unused'; readonly lastAnswerAt?: string }>;
}

export interface WanStatus {
  readonly interface: string;
  /** config, board, default-route or missing (firmware/network/interface-roles.ts). */
  readonly source: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface CertificateStatus {
  readonly role: 'gateway' | 'chain' | 'ca';
  readonly subject: string;
  /** ISO 8601. */
  readonly notAfter: string;
  readonly daysLeft: number;
  readonly warning: boolean;
}

/**
 * `certificate-expiring`: once per certificate in use, when it enters its last 30 days (issue 16).
 * `certificate-renewal-failed`: an ACME order or renewal failed (error, failures in a row, retryAt; issue 16).
 * `connection-problem`: one per failed connection attempt, its details as `GET /api/v1/problems`
 * lists it (`firmware/doctor`: cause, stage, explanation, what the client shows, fix; issue 17).
 * `upgrade-failed`: a firmware upgrade's trial did not commit and the previous version runs again
 * (version, slot, reason, at; issue 18), sent once by the version rolled back to.
 * `safe-mode`: a change applied with "confirm within N s" was confirmed, reverted because the time ran
 * out, or could not be reverted (outcome, revision, previousRevision, newRevision; issue 17).
 * `radius-server-down` / `radius-server-up`: a RADIUS server every listener asking it marked dead, or
 * one answering again (server, address, usedBy, lastAnswerAt; issue 21).
 */
export const EVENT_TYPES = ['session-up', 'session-down', 'auth-failure', 'rekey', 'config-change', 'tunnel-up', 'tunnel-down', 'certificate-expiring', 'connection-problem', 'certificate-renewal-failed', 'wan-address-changed', 'upgrade-failed', 'safe-mode', 'radius-server-down', 'radius-server-up'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Something that happened. `seq` starts at 1 when the telemetry starts and grows by one per event,
 * so a gap tells the consumer that events were dropped (the offline buffer overflowed); a repeated
 * `seq` is a redelivery (QoS 1 is at least once) and can be ignored.
 */
export interface EventMessage {
  readonly schema: typeof SCHEMA_VERSION;
  readonly ts: string;
  readonly seq: number;
  readonly type: EventType;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Retained: the configuration revision running now. */
export interface ConfigVersionMessage {
  readonly schema: typeof SCHEMA_VERSION;
  readonly revision: number;
  readonly ts: string;
}

/** `fetch-upgrade` {url}: download a signed update bundle and apply it (off unless telemetry.mqtt.upgradeCommand; issue 18). */
export const COMMAND_NAMES = ['report-now', 'disconnect-session', 'fetch-upgrade'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Inbound on `cmd`: `{id, command, args}`; `schema` may be left out, and must be 1 when given. */
export interface CommandMessage {
  readonly id: string | number;
  readonly command: CommandName;
  readonly args: unknown;
}

/** The answer to one command, echoing its `id`. */
export interface ReplyMessage {
  readonly schema: typeof SCHEMA_VERSION;
  readonly id: string | number;
  readonly ok: boolean;
  readonly error?: string;
}

export const isoTs = (ms: number): string => new Date(ms).toISOString();

export const stateMessage = (state: StateMessage['state'], now: number, version: string): StateMessage => ({
  schema: SCHEMA_VERSION, state, ts: isoTs(now), version,
});

export const eventMessage = (seq: number, type: EventType, details: Readonly<Record<string, unknown>>, now: number): EventMessage => ({
  schema: SCHEMA_VERSION, ts: isoTs(now), seq, type, details,
});

export const configVersionMessage = (revision: number, now: number): ConfigVersionMessage => ({
  schema: SCHEMA_VERSION, revision, ts: isoTs(now),
});

export const replyMessage = (id: string | number, error?: string): ReplyMessage =>
  error === undefined ? { schema: SCHEMA_VERSION, id, ok: true } : { schema: SCHEMA_VERSION, id, ok: false, error };

/** JSON text for the wire. Event details come from all over the firmware: bigints become strings. */
export const encodeMessage = (message: unknown): string =>
  JSON.stringify(message, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
