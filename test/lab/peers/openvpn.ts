import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from '../command.ts';
import type { Daemon, Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

/**
 * An OpenVPN 2.6 peer for benchmarks: point-to-point TLS mode, AES-256-GCM data channel, data
 * channel offload (DCO) off so that it runs in userspace like the other peers measured here.
 */
export interface OpenVpnSpec {
  readonly role: 'server' | 'client';
  readonly local: string;
  readonly remote: string;
  /** Tunnel addresses: this end, the other end. */
  readonly ifconfig: readonly [string, string];
  /** Networks to route through the tunnel, as "10.2.0.0 255.255.255.0". */
  readonly routes: readonly string[];
  /** Directory holding ca.crt, server.crt/key, client.crt/key (makeOpenVpnPki). */
  readonly pki: string;
}

/** A throwaway CA with a server and a client certificate, made with the openssl command. */
export function makeOpenVpnPki(dir: string): void {
  const ssl = (...args: string[]) => mustRun(['openssl', ...args], 30_000);
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=lab-ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'));
  for (const name of ['server', 'client']) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`));
    ssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-out', join(dir, `${name}.crt`));
  }
}

export function openVpnConfig(spec: OpenVpnSpec): string {
  const lines = [
    'dev tun', 'topology p2p', 'proto udp', `local ${spec.local}`, 'lport 1194', `remote ${spec.remote} 1194`,
    `ifconfig ${spec.ifconfig[0]} ${spec.ifconfig[1]}`, ...spec.routes.map((r) => `route ${r}`),
    spec.role === 'server' ? 'tls-server' : 'tls-client', `ca ${spec.pki}/ca.crt`,
    `cert ${spec.pki}/${spec.role}.crt`, `key ${spec.pki}/${spec.role}.key`, 'dh none',
    'data-ciphers AES-256-GCM', 'disable-dco', 'sndbuf 4194304', 'rcvbuf 4194304', 'verb 3',
  ];
  return `${lines.join('\n')}\n`;
}

export class OpenVpn {
  readonly daemon: Daemon;

  private constructor(daemon: Daemon) {
    this.daemon = daemon;
  }

  static start(lab: Lab, host: string, spec: OpenVpnSpec): OpenVpn {
    const dir = lab.subdir(`openvpn-${host}`);
    writeFileSync(join(dir, 'openvpn.conf'), openVpnConfig(spec));
    return new OpenVpn(lab.spawnDaemon(host, `openvpn-${host}`, ['openvpn', '--config', join(dir, 'openvpn.conf')]));
  }

  async ready(ms = 15_000): Promise<void> {
    await waitUntil('OpenVPN', ms, () => this.log().includes('Initialization Sequence Completed'), () => this.log());
  }

  log(): string {
    try {
      return readFileSync(this.daemon.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
