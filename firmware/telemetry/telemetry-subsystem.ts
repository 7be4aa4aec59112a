import { isDeepStrictEqual } from 'node:util';
import { describeDiscovery, discoverBroker, type DiscoveryOptions } from '../fleet/broker-discovery.ts';
import type { PosternConfig, TelemetryConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { Secret } from '../util/secret.ts';
import type { CommandHandlers } from './commands.ts';
import type { ClientCertificate, LinkFactory } from './mqtt-link.ts';
import { checkTelemetryOptions, MqttTelemetry, publicUrl, type Backlog, type MqttTelemetryOptions, type TelemetryExtension } from './mqtt-telemetry.ts';
import type { EventType, StatusMessage } from './schema.ts';
import { systemStatusSource } from './system-status.ts';

type MqttSettings = TelemetryConfig['mqtt'];

export interface TelemetrySubsystemOptions {
  readonly logger: Logger;
  /** Default: the operating system's figures (system-status.ts). */
  readonly statusSource?: () => Promise<StatusMessage>;
  /** The configuration revision running when telemetry starts. */
  readonly revision?: () => number;
  /** Resolves `clientCertificate`, the name of an issued certificate, to its PEM and key. */
  readonly certificate?: (name: string) => ClientCertificate | undefined;
  /** The PEM of the CA that signs the broker's certificate, when not a public one (the board's, issue 26). */
  readonly ca?: () => string | undefined;
  readonly commands?: CommandHandlers;
  readonly clock?: () => number;
  readonly link?: LinkFactory;
  /** More topics on the connection, per settings (fleet configuration, issue 26). */
  readonly extension?: (settings: MqttSettings) => TelemetryExtension | undefined;
  /** DNS servers for broker discovery (a lab's); default: the system's. */
  readonly discoveryServers?: DiscoveryOptions['servers'];
}

/** The configuration's MQTT settings as telemetry options: secrets wrapped, the certificate resolved. */
export function telemetryOptions(mqtt: MqttSettings, certificate?: (name: string) => ClientCertificate | undefined, ca?: string): MqttTelemetryOptions {
  let clientCertificate: ClientCertificate | undefined;
  if (mqtt.clientCertificate !== undefined) {
    clientCertificate = certificate?.(mqtt.clientCertificate);
    if (!clientCertificate) throw new PosternError(ErrorCode.configInvalid, `telemetry: no issued certificate named '${mqtt.clientCertificate}'`);
  }
  return {
    url: mqtt.url,
    prefix: mqtt.prefix,
    deviceId: mqtt.deviceId,
    intervalSeconds: mqtt.intervalSeconds,
    commandsEnabled: mqtt.commandsEnabled,
    ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
    ...(mqtt.password !== undefined ? { password: new Secret(mqtt.password) } : {}),
    ...(clientCertificate ? { clientCertificate } : {}),
    ...(ca !== undefined ? { ca } : {}),
  };
}

/**
 * Fleet telemetry as a supervised subsystem. It runs while `telemetry.mqtt.enabled`; a change of the
 * MQTT settings replaces the connection, carrying unsent events over. Other parts of the firmware
 * report through `event()` and `configChanged()`, which do nothing while telemetry is off.
 */
export class TelemetrySubsystem implements Subsystem {
  readonly name = 'telemetry';
  readonly #options: TelemetrySubsystemOptions;
  readonly #statusSource: () => Promise<StatusMessage>;
  #telemetry: MqttTelemetry | undefined;
  #settings: MqttSettings | undefined;
  /** Unsent events of a stopped instance, for the next one. */
  #backlog: Backlog | undefined;
  #failure: string | undefined;
  /**
   * Events raised before the first start (subsystems that start ahead of telemetry at boot, a GRE
   * site coming up in its first second): kept briefly for it, at most 100 and 30 s old.
   */
  #early: Array<{ readonly type: EventType; readonly details: Readonly<Record<string, unknown>>; readonly at: number }> | undefined = [];

  constructor(options: TelemetrySubsystemOptions) {
    this.#options = options;
    this.#statusSource = options.statusSource ?? systemStatusSource(options.clock ? { clock: options.clock } : {});
  }

  async start(config: PosternConfig): Promise<void> {
    const settings = config.telemetry.mqtt;
    let telemetry: MqttTelemetry;
    try {
      telemetry = this.#create(telemetryOptions(settings, this.#options.certificate, this.#options.ca?.()), settings);
    } catch (error) {
      this.#failure = error instanceof Error ? error.message : String(error);
      throw error;
    }
    this.#failure = undefined;
    this.#telemetry = telemetry;
    this.#settings = settings;
    telemetry.start();
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const e of early) if (Date.now() - e.at <= 30_000) telemetry.event(e.type, e.details);
  }

  /** New settings: build the new client first, so bad settings leave the old one running. */
  async reconfigure(next: PosternConfig): Promise<void> {
    const settings = next.telemetry.mqtt;
    if (this.#telemetry && isDeepStrictEqual(settings, this.#settings)) return; // a rollback to what runs
    await this.#replace(settings);
  }

  /** Dials again with the same settings, the client certificate read again (a renewed one, issue 26). */
  async restart(): Promise<void> {
    const settings = this.#settings;
    if (!settings || !this.#telemetry) return;
    await this.#replace(settings);
  }

  /** A new client for these settings (certificate and CA read now) in place of the running one. */
  async #replace(settings: MqttSettings): Promise<void> {
    const options = telemetryOptions(settings, this.#options.certificate, this.#options.ca?.());
    checkTelemetryOptions(options);
    await this.#stopCurrent();
    this.#telemetry = this.#create(options, settings);
    this.#settings = settings;
    this.#telemetry.start();
  }

  async stop(): Promise<void> {
    this.#early = undefined;
    this.#failure = undefined;
    await this.#stopCurrent();
  }

  status(): SubsystemStatus {
    const t = this.#telemetry;
    if (this.#failure !== undefined) return { state: 'failed', detail: this.#failure };
    if (!t || !this.#settings) return { state: 'stopped' };
    const broker = this.#settings.discovery ? `a broker found ${describeDiscovery(this.#settings.discovery)}` : publicUrl(this.#settings.url);
    const stats = t.stats();
    if (stats.connected) return { state: 'running', detail: `connected to ${broker}` };
    const why = stats.lastError ? `: ${stats.lastError}` : '';
    return stats.connects === 0 ? { state: 'starting', detail: `connecting to ${broker}${why}` } : { state: 'running', detail: `reconnecting to ${broker}${why}` };
  }

  event(type: EventType, details: Readonly<Record<string, unknown>> = {}): void {
    if (this.#telemetry) return void this.#telemetry.event(type, details);
    if (!this.#early) return; // started once: off means off
    if (this.#early.length >= 100) this.#early.shift();
    this.#early.push({ type, details, at: Date.now() });
  }

  /** For the service, once a configuration is committed (its revision is known only then). */
  configChanged(revision: number): void {
    this.#telemetry?.configChanged(revision);
  }

  get telemetry(): MqttTelemetry | undefined {
    return this.#telemetry;
  }

  #create(options: MqttTelemetryOptions, settings: MqttSettings): MqttTelemetry {
    const o = this.#options;
    const revision = o.revision?.();
    const extension = o.extension?.(settings);
    return new MqttTelemetry(options, {
      statusSource: this.#statusSource,
      logger: o.logger,
      ...(o.clock ? { clock: o.clock } : {}),
      ...(revision !== undefined ? { revision } : {}),
      ...(o.commands ? { commands: o.commands } : {}),
      ...(o.link ? { link: o.link } : {}),
      ...(this.#backlog ? { backlog: this.#backlog } : {}),
      ...(extension ? { extension } : {}),
      ...(settings.discovery ? { discover: () => discoverBroker({ ...settings.discovery!, ...(o.discoveryServers ? { servers: o.discoveryServers } : {}) }), discoverWhere: describeDiscovery(settings.discovery) } : {}),
    });
  }

  async #stopCurrent(): Promise<void> {
    const t = this.#telemetry;
    this.#telemetry = undefined;
    this.#settings = undefined;
    if (!t) return;
    await t.stop();
    this.#backlog = t.takeBacklog();
  }
}

/** For the supervisor: wanted when enabled; a change in the MQTT settings reconfigures. */
export const telemetrySpec = (subsystem: TelemetrySubsystem): SubsystemSpec => ({
  name: subsystem.name,
  wanted: (config) => config.telemetry.mqtt.enabled,
  slice: (config) => config.telemetry.mqtt,
  create: () => subsystem,
});
