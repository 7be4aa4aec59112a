import { connect, type IClientOptions } from 'mqtt';
import type { Secret } from '../util/secret.ts';
import type { RequestProperties } from './command-request.ts';

/**
 * One MQTT connection attempt, through the `mqtt` package, behind a small interface the telemetry
 * shell (and its tests) can hold. mqtt.js's own reconnect is off: a link lives for one connection,
 * and the shell makes a new one with its own backoff. Clean start, MQTT 5 (request/response and
 * message expiry for commands, issue 26); the topics and payloads are those of 3.1.1 clients.
 */

export interface ClientCertificate {
  readonly cert: string;
  readonly key: Secret;
}

export interface LinkOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: Secret;
  readonly clientCertificate?: ClientCertificate;
  /** PEM of the CA that signs the broker's certificate, when not in the system store. */
  readonly ca?: string;
  /** Published retained, QoS 1, by the broker if the connection dies without a DISCONNECT. */
  readonly will?: { readonly topic: string; readonly payload: string };
}

export interface LinkEvents {
  /** CONNACK accepted. */
  connected(): void;
  /** The connection is gone or never came up; once per link, and the link is dead after it. */
  closed(): void;
  error(error: Error): void;
  /** `retained`: the broker's stored message, sent on subscribing (not one published just now). */
  message(topic: string, payload: Buffer, retained?: boolean, properties?: RequestProperties): void;
}

export interface MqttLink {
  /** Resolves when written (QoS 0) or acknowledged (QoS 1); rejects if the link closes first. */
  publish(topic: string, payload: string, options: { readonly qos: 0 | 1; readonly retain: boolean; readonly correlationData?: Buffer }): Promise<void>;
  subscribe(topic: string): Promise<void>;
  /** DISCONNECT cleanly (so the broker discards the Will), bounded by `ms`. */
  end(ms: number): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

export type LinkFactory = (options: LinkOptions, events: LinkEvents) => MqttLink;

const KEEPALIVE_SECONDS = 30;
const CONNECT_TIMEOUT_MS = 10_000;

function clientOptions(o: LinkOptions): IClientOptions {
  return {
    clientId: o.clientId,
    clean: true,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    keepalive: KEEPALIVE_SECONDS,
    resubscribe: false,
    queueQoSZero: false,
    ...(o.will ? { will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1 as const, retain: true } } : {}),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password.reveal() } : {}),
    ...(o.clientCertificate ? { cert: o.clientCertificate.cert, key: o.clientCertificate.key.reveal() } : {}),
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
  };
}

export const mqttLink: LinkFactory = (options, events) => {
  const client = connect(options.url, clientOptions(options));
  let closed = false;
  client.on('connect', () => events.connected());
  client.on('error', (error) => events.error(error));
  client.on('message', (topic, payload, packet) => {
    const p = packet.properties;
    const properties: RequestProperties = {
      ...(typeof p?.responseTopic === 'string' ? { responseTopic: p.responseTopic } : {}),
      ...(Buffer.isBuffer(p?.correlationData) ? { correlationData: p.correlationData } : {}),
      ...(typeof p?.messageExpiryInterval === 'number' ? { messageExpiryInterval: p.messageExpiryInterval } : {}),
    };
    events.message(topic, payload, packet.retain, properties);
  });
  client.on('close', () => {
    if (closed) return;
    closed = true;
    // Without this, mqtt.js keeps QoS 1 publishes of a dead connection pending for ever.
    client.end(true);
    events.closed();
  });
  return {
    publish: async (topic, payload, { qos, retain, correlationData }) => {
      await client.publishAsync(topic, payload, { qos, retain, ...(correlationData ? { properties: { correlationData } } : {}) });
    },
    subscribe: async (topic) => {
      const granted = await client.subscribeAsync(topic, { qos: 1 });
      if (granted.some((g) => g.qos >= 128)) throw new Error(`subscription to ${topic} refused`);
    },
    end: (ms) =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        const timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, ms);
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    destroy: () => {
      client.end(true);
    },
  };
};
