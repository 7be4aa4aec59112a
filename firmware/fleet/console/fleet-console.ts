// The operator's fleet console, `postern fleet` (issue 26; docs/fleet.md): make a key pair, sign a
// desired configuration for a box or a group, publish it retained to the broker and wait for the box's
// reported state, list the boxes with their state, watch their events. Any MQTT 5 broker; the password
// comes from an environment variable, never argv.
//
//   postern fleet keygen DIR
//   postern fleet sign      --key K (--serial S | --group G) --revision R (--document F | --patch F --base R0) [--sequence N] [--valid-for SECONDS]
//   postern fleet publish   <sign's options> --broker URL [--username U] [--ca F] [--prefix P] [--wait SECONDS]
//   postern fleet reported  --broker URL --serial S [--username U] [--ca F] [--prefix P] [--wait SECONDS]
//   postern fleet list      --broker URL [--json] [--wait SECONDS] …   every box that announced itself or reports, from retained messages
//   postern fleet watch     --broker URL [--serial S] [--for SECONDS] …  events as JSON lines, until stopped
//   postern fleet variables --key K --serial S --variables F --broker URL [--sequence N] [--valid-for SECONDS] [--wait SECONDS] …
//   postern fleet command   --serial S --command NAME [--args JSON] [--expiry SECONDS] --broker URL [--wait SECONDS] …
//   postern fleet enroll-token --serial S [--days N] [--dir D]
//   postern fleet enroll-serve --key K [--dir D] [--days N] --broker URL [--username U] [--ca F] [--prefix P] [--factory-ca F ...]
//
// Exit status: 0 applied (or done), 1 usage or I/O error, 2 refused/failed/reverted, 3 no answer in time.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { keyIdOf, rawPublicKey, signEnvelope, type DesiredPayload, type Target } from '../envelope.ts';
import { fleetTopics } from '../topics.ts';
import { decodeVariables, signVariables } from '../variables.ts';
import { enrollServe, enrollToken, loadCaFiles, loadOperatorKey } from './fleet-enroll.ts';
import { eventLine, Roster, rosterTable, rosterTopics } from './roster.ts';

const options = {
  key: { type: 'string' }, serial: { type: 'string' }, group: { type: 'string' }, revision: { type: 'string' },
  document: { type: 'string' }, patch: { type: 'string' }, base: { type: 'string' }, sequence: { type: 'string' },
  'valid-for': { type: 'string' }, broker: { type: 'string' }, username: { type: 'string' }, ca: { type: 'string' },
  'password-env': { type: 'string' }, prefix: { type: 'string' }, wait: { type: 'string' }, variables: { type: 'string' },
  command: { type: 'string' }, args: { type: 'string' }, expiry: { type: 'string' }, dir: { type: 'string' }, days: { type: 'string' },
  'factory-ca': { type: 'string', multiple: true }, json: { type: 'boolean' }, for: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function fail(message: string, code = 1): never {
  process.stderr.write(`postern fleet: ${message}\n`);
  process.exit(code);
}

function keygen(dir: string | undefined): void {
  if (!dir) fail('keygen needs a directory');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'operator-private.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(join(dir, 'operator-public.pem'), publicKey.export({ format: 'pem', type: 'spki' }), { mode: 0o644, flag: 'wx' });
  // What goes into telemetry.mqtt.fleet.operatorKeys on each box:
  process.stdout.write(`${JSON.stringify({ keyId: keyIdOf(publicKey), operatorKey: rawPublicKey(publicKey).toString('base64') })}\n`);
}

function readJson(path: string): Record<string, unknown> {
  const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path}: not a JSON object`);
  return value as Record<string, unknown>;
}

function payloadFrom(v: Values): DesiredPayload {
  if (!!v.serial === !!v.group) fail('one of --serial and --group');
  if (!v.revision) fail('--revision names this desired state');
  if (!!v.document === !!v.patch) fail('one of --document and --patch');
  const target: Target = v.serial ? { serial: v.serial } : { group: v.group! };
  const now = Date.now();
  // By default the time in milliseconds: it grows on one console as long as its clock does.
  const sequence = v.sequence ? Number(v.sequence) : now;
  if (!Number.isSafeInteger(sequence) || sequence < 1) fail('--sequence must be a whole number from 1');
  const validFor = Number(v['valid-for'] ?? 7 * 86400);
  const common = { type: 'postern-desired' as const, target, sequence, issuedAt: now, expiresAt: now + validFor * 1000, revision: v.revision };
  if (v.document) return { ...common, kind: 'document', document: readJson(v.document) };
  if (!v.base) fail('a patch names its --base revision');
  return { ...common, kind: 'patch', base: v.base, patch: readJson(v.patch!) };
}

function sign(v: Values): { payload: DesiredPayload; envelope: string } {
  if (!v.key) fail('--key is the operator\'s private key (PEM)');
  const key = createPrivateKey(readFileSync(v.key, 'utf8'));
  if (createPublicKey(key).asymmetricKeyType !== 'ed25519') fail('the key must be Ed25519');
  const payload = payloadFrom(v);
  return { payload, envelope: signEnvelope(payload, key) };
}

async function connect(v: Values): Promise<MqttClient> {
  if (!v.broker) fail('--broker mqtt(s)://host:port');
  const password = process.env[v['password-env'] ?? 'POSTERN_FLEET_PASSWORD'];
  const o: IClientOptions = {
    protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, clientId: `postern-console-${process.pid}-${Date.now() % 100000}`,
    ...(v.username ? { username: v.username } : {}), ...(password ? { password } : {}), ...(v.ca ? { ca: readFileSync(v.ca) } : {}),
  };
  return connectAsync(v.broker, o);
}

const FINAL = new Set(['applied', 'refused', 'failed', 'reverted', 'revert-failed']);

type ReportedView = { last?: { sequence?: number; outcome?: string; about?: string }; variables?: { sequence?: number } };

/** The box's reported state once it says something final about `sequence` (any, when absent). */
function waitReported(client: MqttClient, topic: string, seconds: number, sequence?: number, final = (m: ReportedView) => m.last?.sequence === sequence && FINAL.has(m.last?.outcome ?? '')): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), seconds * 1000);
    client.on('message', (t, payload) => {
      if (t !== topic) return;
      try {
        const message = JSON.parse(payload.toString()) as ReportedView;
        if (sequence !== undefined && !final(message)) return;
        clearTimeout(timer);
        resolve(message as Record<string, unknown>);
      } catch {
        // not ours to judge
      }
    });
  });
}

async function publish(v: Values): Promise<number> {
  const { payload, envelope } = sign(v);
  const prefix = v.prefix ?? 'postern';
  const topic = 'serial' in payload.target ? fleetTopics(prefix, payload.target.serial, []).desired : `${prefix}/group/${payload.target.group}/desired`;
  const client = await connect(v);
  try {
    const wait = v.wait ? Number(v.wait) : 0;
    const reported = 'serial' in payload.target && wait > 0 ? fleetTopics(prefix, payload.target.serial, []).reported : undefined;
    const answer = reported ? (await client.subscribeAsync(reported, { qos: 1 }), waitReported(client, reported, wait, payload.sequence)) : undefined;
    // Retained: a box that is offline now takes it when it connects (while it is still valid).
    await client.publishAsync(topic, envelope, { qos: 1, retain: true });
    process.stdout.write(`${JSON.stringify({ published: topic, sequence: payload.sequence, revision: payload.revision })}\n`);
    if (!answer) return 0;
    const message = await answer;
    if (!message) return 3;
    process.stdout.write(`${JSON.stringify(message)}\n`);
    return (message['last'] as { outcome?: string }).outcome === 'applied' ? 0 : 2;
  } finally {
    await client.endAsync();
  }
}

/**
 * A box's variables (the values a group's templated document fills in), signed and published retained
 * on its own topic. With --wait: until the box reports them taken (exit 0) or refused (2).
 */
async function publishVariables(v: Values): Promise<number> {
  if (!v.key || !v.serial || !v.variables) fail('variables needs --key, --serial and --variables FILE (a JSON object of names to strings, numbers, booleans)');
  const key = createPrivateKey(readFileSync(v.key, 'utf8'));
  const decoded = decodeVariables(readJson(v.variables));
  if (!decoded.ok) fail(`${v.variables}: ${decoded.why}`);
  const now = Date.now();
  const sequence = v.sequence ? Number(v.sequence) : now;
  if (!Number.isSafeInteger(sequence) || sequence < 1) fail('--sequence must be a whole number from 1');
  const envelope = signVariables({ type: 'postern-variables', target: { serial: v.serial }, sequence, issuedAt: now, expiresAt: now + Number(v['valid-for'] ?? 7 * 86400) * 1000, variables: decoded.value }, key);
  const topics = fleetTopics(v.prefix ?? 'postern', v.serial, []);
  const client = await connect(v);
  try {
    const wait = v.wait ? Number(v.wait) : 0;
    const answer = wait > 0 ? (await client.subscribeAsync(topics.reported, { qos: 1 }), waitReported(client, topics.reported, wait, sequence, (m) => m.variables?.sequence === sequence || (m.last?.about === 'variables' && m.last.sequence === sequence))) : undefined;
    await client.publishAsync(topics.variables, envelope, { qos: 1, retain: true });
    process.stdout.write(`${JSON.stringify({ published: topics.variables, sequence })}\n`);
    if (!answer) return 0;
    const message = (await answer) as ReportedView | undefined;
    if (!message) return 3;
    process.stdout.write(`${JSON.stringify(message)}\n`);
    return message.variables?.sequence === sequence ? 0 : 2;
  } finally {
    await client.endAsync();
  }
}

/**
 * A telemetry command as an MQTT 5 request: the response topic is below the box's reply topic (the
 * only place a box answers), the correlation data random; the message expires after --expiry
 * seconds (30 by default), so a box that gets it late does not run it. Exit 0 ok, 2 refused, 3 no answer.
 */
async function sendCommand(v: Values): Promise<number> {
  if (!v.serial || !v.command) fail('command needs --serial and --command');
  const prefix = v.prefix ?? 'postern';
  const client = await connect(v);
  try {
    const responseTopic = `${prefix}/${v.serial}/reply/${client.options.clientId ?? 'console'}`;
    const correlationData = randomBytes(16);
    const wait = Number(v.wait ?? 10);
    const answer = new Promise<Record<string, unknown> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), wait * 1000);
      client.on('message', (topic, payload, packet) => {
        // Only the answer to this request: its topic and its correlation data.
        if (topic !== responseTopic || !packet.properties?.correlationData?.equals(correlationData)) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(payload.toString()) as Record<string, unknown>);
        } catch {
          resolve({ ok: false, error: 'not JSON' });
        }
      });
    });
    await client.subscribeAsync(responseTopic, { qos: 1 });
    const request = { schema: 1, id: correlationData.toString('hex').slice(0, 12), command: v.command, ...(v.args ? { args: JSON.parse(v.args) as unknown } : {}) };
    await client.publishAsync(`${prefix}/${v.serial}/cmd`, JSON.stringify(request), { qos: 1, properties: { responseTopic, correlationData, messageExpiryInterval: Number(v.expiry ?? 30) } });
    const reply = await answer;
    if (!reply) return 3;
    process.stdout.write(`${JSON.stringify({ responseTopic, reply })}\n`);
    return reply['ok'] === true ? 0 : 2;
  } finally {
    await client.endAsync();
  }
}

async function showReported(v: Values): Promise<number> {
  if (!v.serial) fail('--serial names the box');
  const topic = fleetTopics(v.prefix ?? 'postern', v.serial, []).reported;
  const client = await connect(v);
  try {
    const answer = waitReported(client, topic, Number(v.wait ?? 5));
    await client.subscribeAsync(topic, { qos: 1 });
    const message = await answer;
    if (!message) return 3;
    process.stdout.write(`${JSON.stringify(message)}\n`);
    return 0;
  } finally {
    await client.endAsync();
  }
}

/** Token enrollment (issue 26): the console's directory holds the token store and the enrollment CA. */
async function serveEnrollment(v: Values): Promise<number> {
  if (!v.key) fail('enroll-serve needs --key (the operator\'s private key: answers are signed with it)');
  const client = await connect(v);
  const log = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), ...line })}\n`);
  await enrollServe(client, { dir: v.dir ?? 'postern-enroll', prefix: v.prefix ?? 'postern', operatorKey: loadOperatorKey(v.key), days: Number(v.days ?? 365), factoryCas: loadCaFiles(v['factory-ca'] ?? []), log });
  // Until stopped; a lost broker ends it (run it under a supervisor that restarts it).
  return new Promise((resolve) => {
    client.on('close', () => resolve(1));
    process.once('SIGTERM', () => void client.endAsync().finally(() => resolve(0)));
    process.once('SIGINT', () => void client.endAsync().finally(() => resolve(0)));
  });
}

/** Every box that announced itself or reports, from the retained messages the broker holds (`--wait` s to gather them). */
async function list(v: Values): Promise<number> {
  const prefix = v.prefix ?? 'postern';
  const roster = new Roster(prefix);
  const client = await connect(v);
  try {
    client.on('message', (topic, payload) => roster.take(topic, payload));
    await client.subscribeAsync(rosterTopics(prefix), { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, Number(v.wait ?? 2) * 1000));
  } finally {
    await client.endAsync();
  }
  const rows = roster.rows();
  process.stdout.write(v.json ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : rows.length ? rosterTable(rows) : 'no boxes\n');
  return 0;
}

/** Events of every box (or one) as JSON lines naming the box, until stopped or `--for` seconds. */
async function watch(v: Values): Promise<number> {
  const prefix = v.prefix ?? 'postern';
  const client = await connect(v);
  client.on('message', (topic, payload) => {
    const line = eventLine(prefix, topic, payload);
    if (line) process.stdout.write(`${JSON.stringify(line)}\n`);
  });
  await client.subscribeAsync(`${prefix}/${v.serial ?? '+'}/events`, { qos: 1 });
  process.stderr.write('watching\n');
  return new Promise((resolve) => {
    const end = (code: number) => void client.endAsync().finally(() => resolve(code));
    if (v.for) setTimeout(() => end(0), Number(v.for) * 1000).unref();
    client.on('close', () => resolve(1));
    process.once('SIGTERM', () => end(0));
    process.once('SIGINT', () => end(0));
  });
}

const COMMANDS = 'keygen, sign, publish, reported, list, watch, variables, command, enroll-token, enroll-serve';

/** `postern fleet …`: the exit status (see the header). */
export async function fleetConsole(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true });
  const [command, arg] = positionals;
  switch (command) {
    case 'keygen': keygen(arg); return 0;
    case 'sign': process.stdout.write(`${sign(values).envelope}\n`); return 0;
    case 'publish': return publish(values);
    case 'reported': return showReported(values);
    case 'list': return list(values);
    case 'watch': return watch(values);
    case 'variables': return publishVariables(values);
    case 'command': return sendCommand(values);
    case 'enroll-token':
      if (!values.serial) fail('enroll-token needs --serial');
      process.stdout.write(await enrollToken(values.dir ?? 'postern-enroll', values.serial, Number(values.days ?? 7)));
      return 0;
    case 'enroll-serve': return serveEnrollment(values);
    default: return fail(`commands: ${COMMANDS}`);
  }
}
