import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

export interface MosquittoSpec {
  readonly address: string;
  readonly port?: number;
  readonly users: Readonly<Record<string, string>>;
  /** A TLS listener too, with PEM files the test made. */
  readonly tls?: { readonly port: number; readonly cert: string; readonly key: string; readonly ca?: string; readonly clientCertificates?: boolean };
  /** The text of an acl_file (who may read and write which topics). */
  readonly acl?: string;
  /** A bridge from this broker to another (mosquitto's `connection`), MQTT 5. */
  readonly bridge?: MosquittoBridge;
  /**
   * Per-listener settings (token enrollment, issue 26): the password listener gets this acl_file of its
   * own (token holders may only enroll there), and the TLS listener `acl` and certificate identities only.
   */
  readonly passwordListenerAcl?: string;
}

export interface MosquittoBridge {
  readonly name: string;
  /** The remote broker, host:port. */
  readonly address: string;
  /** `topic` lines: pattern, `in` (remote → here), `out` (here → remote) or `both`, QoS. */
  readonly topics: ReadonlyArray<readonly [pattern: string, direction: 'in' | 'out' | 'both', qos: 0 | 1]>;
  /** TLS to the remote broker with a client certificate (PEM files the test made). */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export function mosquittoConf(dir: string, spec: MosquittoSpec): string {
  if (spec.passwordListenerAcl !== undefined) return perListenerConf(dir, spec);
  const lines = [
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${dir}/passwd`,
    ...(spec.acl !== undefined ? [`acl_file ${dir}/acl`] : []),
    'persistence false',
    // As root mosquitto would drop to user "mosquitto", which cannot write this directory.
    'user root',
    `log_dest file ${dir}/mosquitto.log`,
    'log_type all',
    `listener ${spec.port ?? 1883} ${spec.address}`,
  ];
  if (spec.tls) {
    lines.push(`listener ${spec.tls.port} ${spec.address}`, `certfile ${spec.tls.cert}`, `keyfile ${spec.tls.key}`);
    if (spec.tls.ca) lines.push(`cafile ${spec.tls.ca}`);
    // Clients prove who they are with a certificate from that CA; its CN is their user name (for the ACL).
    if (spec.tls.clientCertificates) lines.push('require_certificate true', 'use_identity_as_username true');
  }
  if (spec.bridge) lines.push(...bridgeLines(spec.bridge));
  return `${lines.join('\n')}\n`;
}

function perListenerConf(dir: string, spec: MosquittoSpec): string {
  const lines = [
    'per_listener_settings true', 'persistence false', 'user root', `log_dest file ${dir}/mosquitto.log`, 'log_type all',
    `listener ${spec.port ?? 1883} ${spec.address}`, 'allow_anonymous false', `password_file ${dir}/passwd`, `acl_file ${dir}/acl-password`,
  ];
  if (spec.tls) {
    lines.push(`listener ${spec.tls.port} ${spec.address}`, 'allow_anonymous false', `certfile ${spec.tls.cert}`, `keyfile ${spec.tls.key}`);
    if (spec.tls.ca) lines.push(`cafile ${spec.tls.ca}`);
    if (spec.tls.clientCertificates) lines.push('require_certificate true', 'use_identity_as_username true');
    if (spec.acl !== undefined) lines.push(`acl_file ${dir}/acl`);
  }
  return `${lines.join('\n')}\n`;
}

function bridgeLines(b: MosquittoBridge): string[] {
  return [
    `connection ${b.name}`, `address ${b.address}`, 'bridge_protocol_version mqttv50', 'cleansession true',
    'notifications false', 'restart_timeout 1', 'start_type automatic',
    ...b.topics.map(([pattern, direction, qos]) => `topic ${pattern} ${direction} ${qos}`),
    ...(b.tls ? [`bridge_cafile ${b.tls.ca}`, `bridge_certfile ${b.tls.cert}`, `bridge_keyfile ${b.tls.key}`] : []),
  ];
}

/** A real mosquitto broker in a lab host, password-protected. */
export class Mosquitto {
  readonly dir: string;
  readonly daemon: Daemon;

  private constructor(dir: string, daemon: Daemon) {
    this.dir = dir;
    this.daemon = daemon;
  }

  static async start(lab: Lab, host: string, spec: MosquittoSpec): Promise<Mosquitto> {
    const dir = lab.subdir(`mosquitto-${host}`);
    writeFileSync(join(dir, 'passwd'), '', { mode: 0o600 });
    for (const [user, password] of Object.entries(spec.users)) mustRun(['mosquitto_passwd', '-b', join(dir, 'passwd'), user, password]);
    if (spec.acl !== undefined) writeFileSync(join(dir, 'acl'), spec.acl);
    if (spec.passwordListenerAcl !== undefined) writeFileSync(join(dir, 'acl-password'), spec.passwordListenerAcl);
    writeFileSync(join(dir, 'mosquitto.conf'), mosquittoConf(dir, spec));
    const daemon = lab.spawnDaemon(host, `mosquitto-${host}`, ['mosquitto', '-c', join(dir, 'mosquitto.conf')]);
    const broker = new Mosquitto(dir, daemon);
    const port = spec.port ?? 1883;
    await waitUntil('mosquitto', 5000, () => broker.log().includes(`Opening ipv4 listen socket on port ${port}`) || broker.log().includes(`listen socket on port ${port}`), () => broker.log());
    return broker;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'mosquitto.log'), 'utf8');
    } catch {
      return '';
    }
  }
}
