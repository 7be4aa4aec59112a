/**
 * Zero-touch enrollment (issue 26), the part that exists: a box whose board profile names a fleet
 * broker (set at the factory) starts, on its first boot, with telemetry and fleet configuration
 * pointing there, connects with the per-device certificate the factory wrote, and announces itself
 * retained on `<prefix>/enroll/<serial>` (serial, board, MAC, firmware version, the box's own
 * Ed25519 public key). From there the operator sends it a signed desired configuration. Off unless
 * the board profile says so: never a default broker.
 *
 * Pure functions here, apart from the device key and the board's files, which are read or made once.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { BoardFleet, BoardProfile } from '../board/types.ts';
import type { PosternConfig } from '../config/types.ts';
import type { ClientCertificate } from '../telemetry/mqtt-link.ts';
import { Secret } from '../util/secret.ts';
import { NAME, rawPublicKey } from './envelope.ts';

/** `telemetry.mqtt.clientCertificate` naming the board's per-device certificate (not an issued one). */
export const BOARD_CERTIFICATE = 'board-device';
export const ANNOUNCE_SCHEMA = 1;

export interface AnnounceMessage {
  readonly schema: typeof ANNOUNCE_SCHEMA;
  readonly ts: string;
  readonly serial: string;
  readonly board: string;
  readonly mac?: string;
  readonly firmwareVersion: string;
  /** base64 of the box's raw Ed25519 public key (its device key, made at first use). */
  readonly publicKey: string;
}

/** The serial: the board's serial file if it names one, else the WAN port's MAC in hex; a topic-safe name. */
export function boxSerial(fleet: BoardFleet, mac: string | undefined, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  if (fleet.serialFile) {
    try {
      // Device-tree strings end in NUL; anything not a name character goes.
      const serial = readFile(fleet.serialFile).replace(/[^A-Za-z0-9._@-]/g, '').slice(0, 64);
      if (NAME.test(serial) && serial !== 'group' && serial !== 'enroll') return serial;
    } catch {
      // fall back to the MAC
    }
  }
  return mac ? `postern-${mac.replace(/:/g, '').toLowerCase()}` : undefined;
}

/** The WAN port's MAC, from the board's WAN interface name. */
export function wanMac(board: BoardProfile, configWan: string, interfaces = networkInterfaces()): string | undefined {
  for (const name of [configWan, board.interfaces.find((i) => i.role === 'wan')?.name]) {
    const mac = name ? interfaces[name]?.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac : undefined;
    if (mac) return mac;
  }
  return undefined;
}

/** A fresh box's first configuration, pointed at the board's broker (issue 26); unchanged without one. */
export function presetFleet(config: PosternConfig, fleet: BoardFleet | undefined, serial: string | undefined): PosternConfig {
  if (!fleet || !serial || (fleet.broker === undefined && fleet.discoveryDomain === undefined && fleet.dhcpLeaseFile === undefined)) return config;
  // A broker named at the factory wins; else it is looked up by DNS SRV at every connection round.
  const where = fleet.broker !== undefined
    ? { url: fleet.broker }
    : {
        discovery: {
          ...(fleet.discoveryDomain !== undefined ? { domain: fleet.discoveryDomain } : {}), ...(fleet.discoveryPlain ? { plain: true } : {}),
          ...(fleet.dhcpLeaseFile !== undefined ? { dhcpLease: { file: fleet.dhcpLeaseFile, format: fleet.dhcpLeaseFormat ?? 'dhclient', ...(fleet.dhcpOption !== undefined ? { option: fleet.dhcpOption } : {}) } } : {}),
        },
      };
  const byToken = enrollsByToken(fleet);
  return {
    ...config,
    telemetry: {
      mqtt: {
        ...config.telemetry.mqtt,
        // A box with a token stays off its broker (telemetry and fleet off) until the token is exchanged for a certificate.
        enabled: !byToken, ...where, prefix: fleet.prefix ?? config.telemetry.mqtt.prefix, deviceId: serial,
        ...((fleet.certificate && fleet.key) || byToken ? { clientCertificate: BOARD_CERTIFICATE } : {}),
        fleet: { enabled: !byToken, operatorKeys: [...fleet.operatorKeys], groups: [...(fleet.groups ?? [])], confirmSeconds: 120 },
      },
    },
  };
}

/** A board with an enrollment token and no factory certificate gets its certificate by exchanging the token. */
export const enrollsByToken = (fleet: BoardFleet | undefined): boolean => !!fleet?.enrollmentTokenFile && !(fleet.certificate && fleet.key);

/** The configuration once a token was exchanged: telemetry and fleet on, with the enrolled certificate. */
export function enrolledConfig(config: PosternConfig): PosternConfig {
  const mqtt = config.telemetry.mqtt;
  const fleet = mqtt.fleet ? { fleet: { ...mqtt.fleet, enabled: true } } : {};
  return { ...config, telemetry: { ...config.telemetry, mqtt: { ...mqtt, enabled: true, clientCertificate: BOARD_CERTIFICATE, ...fleet } } };
}

/** The per-device certificate the factory wrote, for `clientCertificate: board-device`. */
export function boardCertificate(fleet: BoardFleet | undefined): ClientCertificate | undefined {
  if (!fleet?.certificate || !fleet.key) return undefined;
  try {
    return { cert: readFileSync(fleet.certificate, 'utf8'), key: new Secret(readFileSync(fleet.key, 'utf8')) };
  } catch {
    return undefined;
  }
}

/** The box's own Ed25519 key (`<state>/fleet/device-key.pem`), made at first use: what it announces. */
export function devicePublicKey(stateDir: string): string {
  const path = join(stateDir, 'fleet', 'device-key.pem');
  if (!existsSync(path)) {
    mkdirSync(join(stateDir, 'fleet'), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  }
  return rawPublicKey(createPublicKey(createPrivateKey(readFileSync(path, 'utf8')))).toString('base64');
}

export function announceMessage(fields: Omit<AnnounceMessage, 'schema' | 'ts'>, now: number): AnnounceMessage {
  return { schema: ANNOUNCE_SCHEMA, ts: new Date(now).toISOString(), ...fields };
}
