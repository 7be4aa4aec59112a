/**
 * The RADIUS page's Test (issue 21): a client of its own for that one server (so the listeners'
 * clients and their dead-server state are untouched) sends Status-Server (RFC 5997) and, when a user
 * and password are given, a PAP Access-Request; each step's outcome and time, and a hint when the
 * answers were dropped for a wrong authenticator (a wrong shared secret). Bounded: ~3 s per step.
 */
import type { PosternConfig } from '../config/types.ts';
import { Secret } from '../util/secret.ts';
import { nasAttributes } from './accounting.ts';
import { Attr, integerAttr, ServiceType, textAttr } from './attributes.ts';
import type { RadiusResult } from './client-engine.ts';
import { RadiusClient } from './radius-client.ts';
import { nasIdentityOf, radiusServersOf, radsecTlsOf } from './radius-from-config.ts';
import type { RadsecTls } from './radsec-link.ts';

export interface RadiusTestStep {
  readonly ok: boolean;
  readonly outcome: string;
  readonly ms: number;
  readonly detail?: string;
}

export interface RadiusTestResult {
  readonly server: string;
  readonly statusServer: RadiusTestStep;
  readonly login?: RadiusTestStep;
}

/** `ownCertificate`: Postern's RadSec client certificate (radsec-credentials.ts), for a RadSec server without an imported one. */
export async function testRadiusServer(config: PosternConfig, name: string, login?: { user: string; password: string }, ownCertificate?: () => ReturnType<Parameters<typeof radsecTlsOf>[1]>): Promise<RadiusTestResult | undefined> {
  const server = radiusServersOf(config).find((s) => s.name === name);
  if (!server) return undefined;
  // A RadSec server is tested over its own TLS connection, with the settings the listeners use.
  const tls: Record<string, RadsecTls> | undefined = server.transport === 'tls' ? radsecTlsOf(config, ownCertificate ?? (() => undefined)) : undefined;
  const client = await RadiusClient.open({ servers: [server], ...(tls ? { tls } : {}), initialTimeoutMs: 1000, maxRetransmits: 1, maxDurationMs: 3000, statusServerIntervalMs: 0 });
  try {
    const step = async (run: () => Promise<RadiusResult>, good: string): Promise<RadiusTestStep> => {
      const started = performance.now();
      const result = await run();
      const ms = Math.round(performance.now() - started);
      const c = client.servers()[0]!.counters;
      const hint = result.outcome === 'timeout' && c.badAuthenticators > 0 ? 'answers were dropped: their authenticator is wrong (is the shared secret the same on the server?)'
        : result.outcome === 'timeout' && c.missingMessageAuthenticator > 0 ? 'answers were dropped: no Message-Authenticator (set the server to send it)'
          : result.outcome === 'timeout' && server.transport === 'tls' ? `no answer over TLS (${client.servers()[0]?.radsec?.lastFailure ?? 'not connected'})`
            : result.outcome === 'timeout' ? 'no answer (address, port, firewall, or this gateway is not a client of the server)' : undefined;
      const reply = 'packet' in result ? [...result.packet.attributes].filter((a) => a.type === Attr.ReplyMessage).map((a) => Buffer.from(a.value).toString('utf8')).join(' ') : '';
      return { ok: result.outcome === good, outcome: result.outcome, ms, ...(hint ? { detail: hint } : reply ? { detail: reply } : {}) };
    };
    const statusServer = await step(() => client.statusServer(), 'accept');
    if (!login) return { server: name, statusServer };
    const attributes = [textAttr(Attr.UserName, login.user), ...nasAttributes(nasIdentityOf(config)), integerAttr(Attr.ServiceType, ServiceType.Framed)];
    return { server: name, statusServer, login: await step(() => client.authenticate(attributes, new Secret<Uint8Array>(Buffer.from(login.password, 'utf8'))), 'accept') };
  } finally {
    client.close();
  }
}
