import { buildInfo } from '../build-info.ts';
import type { Logger } from '../log/logger.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import type { Secret } from '../util/secret.ts';
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffOptions } from './backoff.ts';
import { expiredBy, routeCommand, type RequestProperties } from './command-request.ts';
import { parseCommand, runCommand, type CommandHandlers, type ParsedCommand } from './commands.ts';
import { mqttLink, type ClientCertificate, type LinkFactory, type LinkOptions, type MqttLink } from './mqtt-link.ts';
import { DEFAULT_BUFFER_CAPACITY, OfflineBuffer } from './offline-buffer.ts';
import {
  configVersionMessage, DEFAULT_PREFIX, encodeMessage, eventMessage, stateMessage, topicsFor, validTopicParts,
  type EventType, type StatusMessage, type Topics,
} from './schema.ts';

/** What the configuration says (TelemetryConfig.mqtt, with secrets wrapped and the certificate resolved). */
export interface MqttTelemetryOptions {
  /** mqtt://host[:port] or mqtts://host[:port]. */
  readonly url: string;
  readonly username?: string;
  readonly password?: Secret;
  readonly clientCertificate?: ClientCertificate;
  readonly ca?: string;
  /** Default 'postern'. */
  readonly prefix?: string;
  readonly deviceId: string;
  readonly intervalSeconds: number;
  /** Off unless asked for: commands let whoever may publish on the broker act on the gateway. */
  readonly commandsEnabled?: boolean;
}

/** What the rest of the firmware gives the telemetry. */
export interface TelemetrySources {
  readonly statusSource: () => Promise<StatusMessage>;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly clock?: () => number;
  /** The firmware version for `state`; default: this build's. */
  readonly version?: string;
  /** The configuration revision for `config/version`; later ones come through `configChanged`. */
  readonly revision?: number;
  /** `report-now` is built in (publishes a status); these add to or replace it. */
  readonly commands?: CommandHandlers;
  readonly bufferCapacity?: number;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  readonly link?: LinkFactory;
  /** Unsent events of a previous instance (see `takeBacklog`). */
  readonly backlog?: Backlog;
  /** More topics and their handler (fleet configuration, issue 26). */
  readonly extension?: TelemetryExtension;
  /**
   * The broker found by a DHCP option or DNS SRV (issue 26): asked when no candidate is left, its
   * URLs tried in order, one per attempt; the configured URL is then not used.
   */
  readonly discover?: () => Promise<{ readonly ok: true; readonly urls: readonly string[] } | { readonly ok: false; readonly why: string }>;
  /** Where `discover` looks, in words, for the log ("in DHCP option 224 (/run/…), then under example.net"). */
  readonly discoverWhere?: string;
}

/** Publishes retained at QoS 1 on the connection it was given for; rejects once that is gone. */
export type RetainedPublisher = (topic: string, payload: string) => Promise<void>;

/** Another part of the firmware on the telemetry's connection: its subscriptions, messages, connects. */
export interface TelemetryExtension {
  readonly subscriptions: readonly string[];
  message(topic: string, payload: Buffer, retained: boolean): void;
  /** Each connection, once `online` is acknowledged (so the broker was reached through it). */
  connected(publish: RetainedPublisher): void;
}

/** An event ready for the wire: encoded once, when it happened. */
export interface PendingEvent {
  readonly seq: number;
  readonly payload: string;
}

export interface Backlog {
  readonly lastSeq: number;
  readonly events: readonly PendingEvent[];
}

export interface TelemetryStats {
  readonly connected: boolean;
  readonly connects: number;
  readonly buffered: number;
  readonly dropped: number;
  readonly inflight: number;
  readonly eventsPublished: number;
  readonly statusPublished: number;
  readonly malformedCommands: number;
  readonly commandsAnswered: number;
  /** Not run: their message expiry passed, or retained without one (command-request.ts). */
  readonly expiredCommands: number;
  readonly lastError?: string;
}

const RETAINED = { qos: 1, retain: true } as const;
const RELIABLE = { qos: 1, retain: false } as const;
const STOP_TIMEOUT_MS = 3000;

/**
 * Fleet telemetry to an MQTT broker (the shell: connection, timers, publishing). Online/offline
 * state with a Last Will, periodic status, events at least once and in order (buffered while the
 * broker is away), the config revision, and optional commands. Reconnects with backoff for ever.
 */
export class MqttTelemetry {
  readonly topics: Topics;
  readonly #o: MqttTelemetryOptions;
  readonly #s: TelemetrySources;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #version: string;
  readonly #buffer: OfflineBuffer<PendingEvent>;
  /** Sent on the current connection, not yet acknowledged. */
  readonly #inflight = new Map<number, PendingEvent>();
  readonly #handlers: CommandHandlers;
  readonly #counters = { connects: 0, eventsPublished: 0, statusPublished: 0, malformedCommands: 0, commandsAnswered: 0, expiredCommands: 0 };
  #seq: number;
  #revision: number | undefined;
  /** Bumped per connection attempt and on stop: callbacks of an older link are ignored. */
  #gen = 0;
  #link: MqttLink | undefined;
  /** Commands run one at a time (command-request.ts: an expiry can pass while one waits). */
  #commands: Promise<void> = Promise.resolve();
  #connected = false;
  #running = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #statusBusy = false;
  #warnedFull = false;
  #lastError: string | undefined;
  /** The broker dialled now (the configured URL, or a discovered one). */
  #url: string;
  /** Discovered brokers not tried yet in this round. */
  #candidates: string[] = [];

  constructor(options: MqttTelemetryOptions, sources: TelemetrySources) {
    checkTelemetryOptions(options);
    this.#o = options;
    this.#s = sources;
    this.#url = options.url;
    this.#log = sources.logger;
    this.#clock = sources.clock ?? Date.now;
    this.#version = sources.version ?? buildInfo.version;
    this.#revision = sources.revision;
    this.topics = topicsFor(options.prefix ?? DEFAULT_PREFIX, options.deviceId);
    this.#buffer = new OfflineBuffer(sources.bufferCapacity ?? DEFAULT_BUFFER_CAPACITY);
    this.#seq = sources.backlog?.lastSeq ?? 0;
    for (const e of sources.backlog?.events ?? []) this.#buffer.push(e);
    this.#handlers = { 'report-now': () => this.reportNow(), ...sources.commands };
  }

  /** Starts connecting; returns at once (the broker may be away for a long time). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#log.info('telemetry starting', { broker: this.#s.discover ? `found ${this.#s.discoverWhere ?? 'by discovery'}` : publicUrl(this.#o.url), stateTopic: this.topics.state, commands: this.#o.commandsEnabled === true });
    this.#open();
  }

  /** Publishes `offline` (retained) and disconnects cleanly, so the broker drops the Will. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#gen++;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#statusTimer);
    const link = this.#link;
    const wasConnected = this.#connected;
    this.#link = undefined;
    this.#connected = false;
    if (link && wasConnected) {
      await within(link.publish(this.topics.state, encodeMessage(stateMessage('offline', this.#clock(), this.#version)), RETAINED), STOP_TIMEOUT_MS).catch(() => undefined);
      await link.end(STOP_TIMEOUT_MS);
    } else link?.destroy();
    this.#requeue();
    this.#log.info('telemetry stopped', { unsentEvents: this.#buffer.size });
  }

  /** Publishes an event now, or keeps it until the broker is back. Returns its sequence number. */
  event(type: EventType, details: Readonly<Record<string, unknown>> = {}): number {
    const seq = ++this.#seq;
    const pending = { seq, payload: encodeEvent(seq, type, details, this.#clock()) };
    if (this.#connected && this.#link) this.#send(this.#link, pending);
    else if (!this.#buffer.push(pending) && !this.#warnedFull) {
      this.#warnedFull = true;
      this.#log.warn('telemetry buffer full: dropping the oldest events', { capacity: this.#buffer.capacity });
    }
    return seq;
  }

  /** A new configuration revision is running: update the retained `config/version`, and say so. */
  configChanged(revision: number): void {
    this.#revision = revision;
    if (this.#connected && this.#link) void this.#link.publish(this.topics.configVersion, encodeMessage(configVersionMessage(revision, this.#clock())), RETAINED).catch(() => undefined);
    this.event('config-change', { revision });
  }

  /** Publishes a status now (when connected); rejects if the status could not be made or sent. */
  async reportNow(): Promise<void> {
    if (this.#statusBusy) return; // one is on its way
    this.#statusBusy = true;
    try {
      const status = await this.#s.statusSource();
      const link = this.#link;
      if (!this.#connected || !link) throw new Error('not connected');
      await link.publish(this.topics.status, encodeMessage(status), { qos: 0, retain: false });
      this.#counters.statusPublished++;
    } finally {
      this.#statusBusy = false;
    }
  }

  /** After `stop()`: the events not acknowledged, for the next instance. */
  takeBacklog(): Backlog {
    return { lastSeq: this.#seq, events: this.#buffer.drain() };
  }

  get connected(): boolean {
    return this.#connected;
  }

  stats(): TelemetryStats {
    return {
      connected: this.#connected,
      ...this.#counters,
      buffered: this.#buffer.size,
      dropped: this.#buffer.dropped,
      inflight: this.#inflight.size,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /**
   * Drops the connection and dials again now (the WAN address changed, issue 18: the old TCP
   * connection's source address is gone and would only be noticed at the keepalive). Unacknowledged
   * events go back to the buffer as on any loss.
   */
  reconnect(): void {
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#attempt = 0;
      this.#open();
      return;
    }
    this.#attempt = 0;
    this.#link?.destroy();
  }

  #open(): void {
    this.#retryTimer = undefined;
    const discover = this.#s.discover;
    if (discover && this.#candidates.length === 0) {
      const gen = ++this.#gen;
      void discover().then((found) => {
        if (gen !== this.#gen) return;
        if (!found.ok) {
          this.#lastError = found.why;
          return this.#lost();
        }
        this.#candidates = [...found.urls];
        this.#log.info('telemetry broker discovered', { brokers: found.urls.map(publicUrl) });
        this.#dial();
      }, (error: unknown) => {
        if (gen !== this.#gen) return;
        this.#lastError = error instanceof Error ? error.message : String(error);
        this.#lost();
      });
      return;
    }
    this.#dial();
  }

  #dial(): void {
    if (this.#s.discover) this.#url = this.#candidates.shift() ?? this.#url;
    const gen = ++this.#gen;
    const current = () => gen === this.#gen;
    const will = encodeMessage(stateMessage('offline', this.#clock(), this.#version));
    const link = (this.#s.link ?? mqttLink)(this.#linkOptions(will), {
      connected: () => {
        if (current()) void this.#announce(gen, link);
      },
      closed: () => {
        if (current()) this.#lost();
      },
      error: (error) => {
        if (current()) this.#lastError = error.message;
      },
      message: (topic, payload, retained, properties) => {
        if (current()) this.#onMessage(topic, payload, retained === true, properties);
      },
    });
    this.#link = link;
  }

  #linkOptions(will: string): LinkOptions {
    const o = this.#o;
    return {
      url: this.#url,
      clientId: `postern-${o.deviceId}`,
      will: { topic: this.topics.state, payload: will },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.clientCertificate ? { clientCertificate: o.clientCertificate } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
    };
  }

  /** Connected: commands first, so that `online` means ready for them; then state, revision, backlog. */
  async #announce(gen: number, link: MqttLink): Promise<void> {
    try {
      // A refused subscription (broker ACL) costs the commands, not the telemetry.
      if (this.#o.commandsEnabled) {
        await link.subscribe(this.topics.cmd).catch((error: unknown) => {
          if (gen === this.#gen) this.#log.warn('telemetry commands unavailable', { error });
        });
      }
      for (const topic of this.#s.extension?.subscriptions ?? []) {
        await link.subscribe(topic).catch((error: unknown) => {
          if (gen === this.#gen) this.#log.warn('telemetry subscription refused', { topic, error });
        });
      }
      await link.publish(this.topics.state, encodeMessage(stateMessage('online', this.#clock(), this.#version)), RETAINED);
      if (this.#revision !== undefined) await link.publish(this.topics.configVersion, encodeMessage(configVersionMessage(this.#revision, this.#clock())), RETAINED);
    } catch (error) {
      if (gen !== this.#gen) return;
      this.#lastError = error instanceof Error ? error.message : String(error);
      return link.destroy(); // its close schedules the next attempt
    }
    if (gen !== this.#gen) return;
    this.#connected = true;
    this.#attempt = 0;
    this.#warnedFull = false;
    this.#counters.connects++;
    this.#candidates = []; // a later loss looks the broker up again
    this.#log.info('telemetry connected', { broker: publicUrl(this.#url), backlog: this.#buffer.size, dropped: this.#buffer.dropped });
    for (const e of this.#buffer.drain()) this.#send(link, e);
    this.#statusTimer = setInterval(() => this.#periodicStatus(), this.#o.intervalSeconds * 1000);
    this.#periodicStatus();
    this.#s.extension?.connected((topic, payload) => (gen === this.#gen ? link.publish(topic, payload, RETAINED) : Promise.reject(new Error('not connected'))));
  }

  #lost(): void {
    const wasConnected = this.#connected;
    this.#gen++;
    this.#link = undefined;
    this.#connected = false;
    clearInterval(this.#statusTimer);
    this.#requeue();
    const delay = reconnectDelay(this.#attempt++, this.#s.random ?? Math.random, this.#s.backoff ?? DEFAULT_BACKOFF);
    const fields = { broker: publicUrl(this.#url), error: this.#lastError, retryInSeconds: Math.round(delay / 100) / 10, buffered: this.#buffer.size };
    if (wasConnected) this.#log.warn('telemetry connection lost', fields);
    else this.#log.info('telemetry broker unreachable', fields);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #send(link: MqttLink, e: PendingEvent): void {
    this.#inflight.set(e.seq, e);
    link.publish(this.topics.events, e.payload, RELIABLE).then(
      () => {
        if (this.#inflight.get(e.seq) !== e) return; // already put back after a lost connection
        this.#inflight.delete(e.seq);
        this.#counters.eventsPublished++;
      },
      () => undefined, // the link's close puts it back in the buffer
    );
  }

  /** Unacknowledged events go back to the buffer ahead of newer ones, in sequence order. */
  #requeue(): void {
    const back = [...this.#inflight.values(), ...this.#buffer.drain()].sort((a, b) => a.seq - b.seq);
    this.#inflight.clear();
    for (const e of back) this.#buffer.push(e);
  }

  #periodicStatus(): void {
    this.reportNow().catch((error: unknown) => {
      if (this.#connected) this.#log.warn('telemetry status report failed', { error });
    });
  }

  #onMessage(topic: string, payload: Buffer, retained: boolean, properties?: RequestProperties): void {
    if (this.#s.extension?.subscriptions.includes(topic)) return this.#s.extension.message(topic, payload, retained);
    if (!this.#o.commandsEnabled || topic !== this.topics.cmd) return;
    const parsed = parseCommand(payload);
    if (parsed.kind === 'malformed') {
      this.#counters.malformedCommands++;
      this.#log.debug('malformed telemetry command ignored', { why: parsed.why });
      return;
    }
    const route = routeCommand(properties, { replyTopic: this.topics.reply, receivedAt: this.#clock(), retained });
    if (route.kind === 'drop') return this.#notRun(parsed, route.why);
    if (route.kind === 'refuse') return void this.#reply({ kind: 'rejected', id: parsed.kind === 'command' ? parsed.command.id : parsed.id, error: route.error }, route);
    // One at a time, in arrival order: a command that waited past its expiry behind another is not run.
    this.#commands = this.#commands.then(async () => {
      if (expiredBy(route, this.#clock())) return this.#notRun(parsed, 'expired');
      if (parsed.kind === 'command') this.#log.info('telemetry command', { id: parsed.command.id, command: parsed.command.command, ...(route.replyTopic !== this.topics.reply ? { responseTopic: route.replyTopic } : {}) });
      await this.#reply(parsed, route);
    }).catch(() => undefined);
  }

  async #reply(parsed: Exclude<ParsedCommand, { kind: 'malformed' }>, route: { readonly replyTopic: string; readonly correlationData?: Buffer }): Promise<void> {
    const reply = await runCommand(parsed, this.#handlers);
    const link = this.#link;
    if (!reply || !link) return;
    await link.publish(route.replyTopic, encodeMessage(reply), { ...RELIABLE, ...(route.correlationData ? { correlationData: route.correlationData } : {}) }).then(() => {
      this.#counters.commandsAnswered++;
    }, () => undefined);
  }

  #notRun(parsed: Exclude<ParsedCommand, { kind: 'malformed' }>, why: string): void {
    this.#counters.expiredCommands++;
    this.#log.info('telemetry command not run', { id: parsed.kind === 'command' ? parsed.command.id : parsed.id, why });
  }
}

/** Throws (POSTERN_ERR_CONFIG_INVALID) for options no connection could work with. */
export function checkTelemetryOptions(o: MqttTelemetryOptions): void {
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  const bad = (why: string) => new PosternError(ErrorCode.configInvalid, `telemetry: ${why}`);
  let protocol: string;
  try {
    protocol = new URL(o.url).protocol;
  } catch {
    throw bad('the broker URL is not a URL');
  }
  if (protocol !== 'mqtt:' && protocol !== 'mqtts:') throw bad('the broker URL must start mqtt:// or mqtts://');
  if (!validTopicParts(prefix, o.deviceId)) throw bad('the topic prefix and device ID must be valid MQTT topic levels');
  if (!(o.intervalSeconds > 0)) throw bad('the status interval must be positive');
}

/** The broker URL fit for a log: credentials in it are removed. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

function encodeEvent(seq: number, type: EventType, details: Readonly<Record<string, unknown>>, now: number): string {
  try {
    return encodeMessage(eventMessage(seq, type, details, now));
  } catch {
    return encodeMessage(eventMessage(seq, type, { unencodable: true }, now)); // a cycle, say
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
