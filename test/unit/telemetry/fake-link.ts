import type { RequestProperties } from '../../../firmware/telemetry/command-request.ts';
import type { LinkEvents, LinkFactory, LinkOptions, MqttLink } from '../../../firmware/telemetry/mqtt-link.ts';

export interface Sent {
  readonly topic: string;
  readonly payload: string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly correlationData?: Buffer;
}

/** One connection of the fake broker: records what the telemetry sends; the test connects and drops it. */
export class FakeLink implements MqttLink {
  readonly sent: Sent[] = [];
  readonly subscribed: string[] = [];
  /** When false, QoS 1 publishes wait for `ack()`. */
  autoAck = true;
  ended = false;
  dead = false;
  readonly #waiting: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  readonly options: LinkOptions;
  readonly events: LinkEvents;

  constructor(options: LinkOptions, events: LinkEvents) {
    this.options = options;
    this.events = events;
  }

  publish(topic: string, payload: string, { qos, retain, correlationData }: { qos: 0 | 1; retain: boolean; correlationData?: Buffer }): Promise<void> {
    if (this.dead) return Promise.reject(new Error('closed'));
    this.sent.push({ topic, payload, qos, retain, ...(correlationData ? { correlationData } : {}) });
    if (this.autoAck || qos === 0) return Promise.resolve();
    return new Promise((ok, fail) => this.#waiting.push({ ok, fail }));
  }

  subscribe(topic: string): Promise<void> {
    this.subscribed.push(topic);
    return Promise.resolve();
  }

  async end(): Promise<void> {
    this.ended = true;
    this.dead = true;
  }

  destroy(): void {
    this.drop();
  }

  /** The broker's CONNACK. */
  accept(): void {
    this.events.connected();
  }

  ack(): void {
    for (const w of this.#waiting.splice(0)) w.ok();
  }

  /** The connection dies: unacknowledged publishes fail, the telemetry hears `closed`. */
  drop(): void {
    if (this.dead) return;
    this.dead = true;
    for (const w of this.#waiting.splice(0)) w.fail(new Error('closed'));
    this.events.closed();
  }

  /** A message from the broker, with MQTT 5 properties if given. */
  message(topic: string, payload: string, properties?: RequestProperties, retained = false): void {
    this.events.message(topic, Buffer.from(payload), retained, properties);
  }

  on(topic: string): Array<Record<string, unknown>> {
    return this.sent.filter((s) => s.topic === topic).map((s) => JSON.parse(s.payload) as Record<string, unknown>);
  }
}

export function fakeBroker(): { links: FakeLink[]; factory: LinkFactory } {
  const links: FakeLink[] = [];
  return {
    links,
    factory: (options, events) => {
      const link = new FakeLink(options, events);
      links.push(link);
      return link;
    },
  };
}

/** Lets promise callbacks and immediates run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
