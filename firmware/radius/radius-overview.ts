/**
 * What the RADIUS page shows (issue 21): each configured server with its live state and counters
 * summed over the listeners that ask it (each listener has its own client), the accounting backlog
 * waiting for a server, and the dynamic-authorization clients. Secrets never leave as text.
 */
import type { PosternConfig } from '../config/types.ts';
import type { SubsystemStatus } from '../supervisor/subsystem.ts';
import type { RadiusClient } from './radius-client.ts';
import { zeroCounters, type ServerCounters } from './server-state.ts';

export interface RadiusListenerView {
  readonly listener: string;
  readonly client: Pick<RadiusClient, 'servers'>;
  readonly backlog: number;
}

export interface RadiusServerView {
  readonly name: string;
  readonly address: string;
  readonly authPort: number;
  readonly acctPort: number;
  readonly secret: '<redacted>';
  readonly timeoutSeconds?: number;
  readonly retries?: number;
  /** unused: no running listener asks RADIUS; dead: every listener's client marked it dead. */
  readonly state: 'alive' | 'dead' | 'unused';
  readonly lastAnswerAt?: number;
  readonly usedBy: readonly string[];
  readonly counters: ServerCounters;
  /** RadSec (RFC 6614): the settings (the CA is public; an imported client key never leaves) and the connection over the listeners. */
  readonly radsec?: {
    readonly port: number;
    readonly serverName?: string;
    readonly ca: string;
    readonly clientCertificateImported: boolean;
    /** Connected for at least one listener that asks it; undefined while none does. */
    readonly connected?: boolean;
    readonly connects: number;
    readonly lastFailure?: string;
  };
}

export interface RadiusOverview {
  readonly nasIdentifier: string;
  readonly nasIpAddress?: string;
  readonly servers: readonly RadiusServerView[];
  /** Accounting records no server acknowledged yet, over every listener. */
  readonly backlog: number;
  readonly backlogByListener: Readonly<Record<string, number>>;
  readonly dynamicAuthorization: {
    readonly enabled: boolean;
    readonly listen: string;
    readonly port: number;
    readonly clients: ReadonlyArray<{ readonly name: string; readonly address: string; readonly secret: '<redacted>' }>;
    readonly state?: string;
    readonly counters?: Readonly<Record<string, number>>;
  };
}

export function radiusOverview(config: PosternConfig, listeners: readonly RadiusListenerView[], das: SubsystemStatus | undefined): RadiusOverview {
  const servers = (config.radius?.servers ?? []).map((s): RadiusServerView => {
    const seen = listeners.flatMap((l) => l.client.servers().filter((x) => x.name === s.name).map((x) => ({ listener: l.listener, ...x })));
    const counters = zeroCounters();
    for (const x of seen) for (const [k, v] of Object.entries(x.counters) as Array<[keyof ServerCounters, number]>) counters[k] += v;
    const answers = seen.map((x) => x.lastAnswerAt).filter((x): x is number => x !== undefined);
    const links = seen.flatMap((x) => (x.radsec ? [x.radsec] : []));
    const failure = links.find((l) => !l.connected && l.lastFailure)?.lastFailure;
    return {
      name: s.name, address: s.address, authPort: s.authPort, acctPort: s.acctPort, secret: '<redacted>',
      ...(s.timeoutSeconds !== undefined ? { timeoutSeconds: s.timeoutSeconds } : {}), ...(s.retries !== undefined ? { retries: s.retries } : {}),
      state: seen.length === 0 ? 'unused' : seen.some((x) => x.alive) ? 'alive' : 'dead',
      ...(answers.length ? { lastAnswerAt: Math.max(...answers) } : {}),
      usedBy: seen.map((x) => x.listener),
      counters,
      ...(s.radsec ? { radsec: {
        port: s.radsec.port ?? 2083, ...(s.radsec.serverName ? { serverName: s.radsec.serverName } : {}), ca: s.radsec.ca,
        clientCertificateImported: s.radsec.clientCertificate !== undefined,
        ...(links.length ? { connected: links.some((l) => l.connected) } : {}),
        connects: links.reduce((a, l) => a + l.connects, 0),
        ...(failure ? { lastFailure: failure } : {}),
      } } : {}),
    };
  });
  const d = config.radius?.dynamicAuthorization;
  return {
    nasIdentifier: config.radius?.nasIdentifier ?? config.system.hostname,
    ...(config.radius?.nasIpAddress ? { nasIpAddress: config.radius.nasIpAddress } : {}),
    servers,
    backlog: listeners.reduce((a, l) => a + l.backlog, 0),
    backlogByListener: Object.fromEntries(listeners.map((l) => [l.listener, l.backlog])),
    dynamicAuthorization: {
      enabled: d?.enabled === true,
      listen: d?.listen ?? config.system.lan.address.split('/')[0]!,
      port: d?.port ?? 3799,
      clients: (d?.clients ?? []).map((c) => ({ name: c.name, address: c.address, secret: '<redacted>' })),
      ...(das ? { state: das.state, ...(das.counters ? { counters: das.counters } : {}) } : {}),
    },
  };
}
