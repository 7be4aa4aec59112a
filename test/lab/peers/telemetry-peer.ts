// Postern's MQTT telemetry in a lab host, with the operating system's status, configured from the
// JSON argument. Log records are printed as `log {...}` lines (kept in the daemon's log file).
// Commands on stdin, one answer line each: `event TYPE` → `seq N`, `stats` → `stats {...}`,
// `stop` → `stopped`.
import { createInterface } from 'node:readline';
import { createLogger } from '../../../firmware/log/logger.ts';
import { MqttTelemetry } from '../../../firmware/telemetry/mqtt-telemetry.ts';
import { EVENT_TYPES, type EventType } from '../../../firmware/telemetry/schema.ts';
import { systemStatusSource } from '../../../firmware/telemetry/system-status.ts';
import { Secret } from '../../../firmware/util/secret.ts';

export interface TelemetryPeerConfig {
  url: string;
  username: string;
  password: string;
  deviceId: string;
  prefix?: string;
  intervalSeconds: number;
  commandsEnabled?: boolean;
  revision?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as TelemetryPeerConfig;
const logger = createLogger({ level: 'debug', sink: (r) => process.stdout.write(`log ${JSON.stringify(r)}\n`) });
const telemetry = new MqttTelemetry(
  {
    url: config.url,
    username: config.username,
    password: new Secret(config.password),
    deviceId: config.deviceId,
    intervalSeconds: config.intervalSeconds,
    ...(config.prefix !== undefined ? { prefix: config.prefix } : {}),
    ...(config.commandsEnabled !== undefined ? { commandsEnabled: config.commandsEnabled } : {}),
  },
  { statusSource: systemStatusSource(), logger: logger.child('telemetry'), version: 'lab', ...(config.revision !== undefined ? { revision: config.revision } : {}) },
);
telemetry.start();
process.stdout.write('ready\n');

const isEventType = (v: string): v is EventType => (EVENT_TYPES as readonly string[]).includes(v);

async function answer(line: string): Promise<string> {
  const [command, arg = ''] = line.trim().split(/\s+/, 2);
  if (command === 'event' && isEventType(arg)) return `seq ${telemetry.event(arg, { lab: true })}`;
  if (command === 'stats') return `stats ${JSON.stringify(telemetry.stats())}`;
  if (command === 'stop') {
    await telemetry.stop();
    return 'stopped';
  }
  return `error unknown command ${line}`;
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    void answer(line).then((out) => process.stdout.write(`${out}\n`));
  })
  // The test went away: leave as a stopped gateway would.
  .on('close', () => void telemetry.stop().then(() => process.exit(0)));
