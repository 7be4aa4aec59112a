/** Several parts of the firmware on one telemetry connection: their subscriptions joined, each message to the parts that asked for its topic. */
import type { TelemetryExtension } from './mqtt-telemetry.ts';

export function combineExtensions(...parts: ReadonlyArray<TelemetryExtension | undefined>): TelemetryExtension | undefined {
  const present = parts.filter((p): p is TelemetryExtension => p !== undefined);
  if (present.length <= 1) return present[0];
  return {
    subscriptions: [...new Set(present.flatMap((p) => p.subscriptions))],
    message: (topic, payload, retained) => {
      for (const p of present) if (p.subscriptions.includes(topic)) p.message(topic, payload, retained);
    },
    connected: (publish) => {
      for (const p of present) p.connected(publish);
    },
  };
}
