/*
 * RADIUS for a listener (SSTP, L2TP, PPTP, and IKEv2's EAP; issue 21): one place that reads who
 * checks its passwords (local | radius | radius-then-local: `auth`, IKEv2's `userAuth`), opens the
 * RADIUS client, and gives each call the MS-CHAPv2 verifier its authenticator asks (the NAS
 * attributes of the protocol, the caller's public address as Calling-Station-Id, the gateway's as
 * Called-Station-Id) and accounting for its session. With `local` nothing is opened: the caller keeps the local users' verifier.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ListenerAuth, PosternConfig } from '../config/types.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import type { Logger } from '../log/logger.ts';
import { Attr, textAttr } from '../radius/attributes.ts';
import { AccountingSpool } from '../radius/accounting-spool.ts';
import { OpenSessionLedger } from '../radius/open-sessions.ts';
import { RadiusClient } from '../radius/radius-client.ts';
import { radsecClientCertificate } from '../radius/radsec-credentials.ts';
import { nasIdentityOf, radiusNasAttributes, radiusServersOf, radsecTlsOf } from '../radius/radius-from-config.ts';
import { SessionAccounting } from '../radius/session-accounting.ts';
import { nasPower } from '../radius/nas-power.ts';
import type { RadiusAttribute } from '../radius/packet.ts';
import { watchedRadius, type RadiusAuthenticator, type RadiusWaitWatch } from './radius-wait.ts';
import { localPasswordVerifier, passwordVerifierFor, radiusPasswordVerifier, type PasswordVerifier } from './password-verifier.ts';
import { localMschapv2Verifier, mschapv2VerifierFor, radiusMschapv2Verifier, type Mschapv2Verifier } from './mschapv2-verifier.ts';

export type PasswordListener = 'sstp' | 'l2tp' | 'pptp' | 'ikev2';

export interface ListenerRadius {
  readonly auth: Exclude<ListenerAuth, 'local'>;
  /** For the per-server counters in the listener's status. */
  readonly client: RadiusClient;
  /** Start and Stop per session, to the same servers. */
  readonly accounting: SessionAccounting;
  /** Accounting records waiting for a server (kept on disk when the listener has a state directory). */
  readonly spool: AccountingSpool;
  /**
   * The verifier for one call from `peer` (its public address, sent as Calling-Station-Id). `watch`
   * hears while the call waits for a server (radius-wait.ts).
   */
  verifier(peer: string, watch?: RadiusWaitWatch): Mschapv2Verifier;
  /** PAP and CHAP-MD5 for one call from `peer`, where the listener allows them. */
  passwordVerifier(peer: string, watch?: RadiusWaitWatch): PasswordVerifier;
  /** EAP passed through: the client and the NAS attributes for one peer. */
  eapPeer(peer: string, watch?: RadiusWaitWatch): { readonly radius: RadiusAuthenticator; readonly nas: readonly RadiusAttribute[] };
  close(): void;
}

export function listenerAuthOf(config: PosternConfig, listener: PasswordListener): ListenerAuth {
  // IKEv2's `auth` names the method (EAP-MSCHAPv2, certificate, PSK): who checks passwords is `userAuth`.
  if (listener === 'ikev2') return config.listeners.ikev2.userAuth ?? 'local';
  const settings = config.listeners[listener] as { readonly auth?: ListenerAuth };
  return settings.auth ?? 'local';
}

/**
 * `stateDir`: where the accounting spool survives a restart (`radius-spool-<listener>.jsonl`); memory only without it.
 * `calledStationId`: the address the listener answers on, the one its clients dial (RFC 2865 §5.30; NPS
 * policies match it as RRAS sends it); none when it listens on every address.
 */
export async function openListenerRadius(config: PosternConfig, listener: PasswordListener, users: UserLookup, log: Logger, stateDir?: string, calledStationId?: string): Promise<ListenerRadius | undefined> {
  const auth = listenerAuthOf(config, listener);
  if (auth === 'local') return undefined;
  let spool: AccountingSpool | undefined;
  // A server back (Status-Server answered): what waits goes now rather than at the next retry.
  const servers = radiusServersOf(config);
  // RadSec servers (RFC 6614): their TLS settings, with Postern's client certificate unless one was imported.
  const tls = servers.some((s) => s.transport === 'tls') ? radsecTlsOf(config, () => (stateDir === undefined ? undefined : radsecClientCertificate(stateDir, config, log))) : undefined;
  const client = await RadiusClient.open({ servers, ...(tls ? { tls } : {}), log: log.child('radius'), onServerState: (_server, up) => void (up && spool?.drain()) });
  spool = new AccountingSpool({ client, log, ...(stateDir !== undefined ? { file: join(stateDir, `radius-spool-${listener}.jsonl`) } : {}) });
  const nas = [...radiusNasAttributes(config, listener), ...(calledStationId ? [textAttr(Attr.CalledStationId, calledStationId)] : [])];
  const local = localMschapv2Verifier(users);
  const localPasswords = localPasswordVerifier(users);
  const identity = nasIdentityOf(config);
  // Sessions a crash left open get their Stop (NAS-Reboot) first, then the gateway's Accounting-On goes
  // with the first listener that opens RADIUS (nas-power.ts): the server reads them in that order.
  const openSessions = stateDir === undefined ? undefined : new OpenSessionLedger(join(stateDir, `radius-open-${listener}.jsonl`), { log });
  const leftOpen = openSessions?.takeLeftOpen() ?? [];
  if (leftOpen.length > 0) log.warn('RADIUS: sessions the last run left open (a crash or a power cut) get their Stop with NAS-Reboot', { listener, sessions: leftOpen.length });
  for (const stop of leftOpen) void spool.send(stop);
  nasPower.opened(identity, spool);
  return {
    auth,
    client,
    accounting: new SessionAccounting({ client, nas: identity, runId: randomBytes(4).toString('hex'), log, spool, ...(calledStationId ? { calledStationId } : {}),
      ...(config.radius?.interimSeconds !== undefined ? { interimSeconds: config.radius.interimSeconds } : {}),
      ...(config.radius?.interimMinimumSeconds !== undefined ? { interimMinimumSeconds: config.radius.interimMinimumSeconds } : {}),
      ...(openSessions ? { openSessions } : {}) }),
    verifier: (peer, watch) => mschapv2VerifierFor(auth, { local, radius: radiusMschapv2Verifier(watchedRadius(client, watch), [...nas, textAttr(Attr.CallingStationId, peer)]), log }),
    passwordVerifier: (peer, watch) => passwordVerifierFor(auth, { local: localPasswords, radius: radiusPasswordVerifier(watchedRadius(client, watch), [...nas, textAttr(Attr.CallingStationId, peer)]), log }),
    eapPeer: (peer, watch) => ({ radius: watchedRadius(client, watch), nas: [...nas, textAttr(Attr.CallingStationId, peer)] }),
    spool,
    close: () => {
      nasPower.closed(identity, spool);
      openSessions?.close();
      spool.close();
      client.close();
    },
  };
}

/** Called-Station-Id for a listener bound to `host`: none when it listens on every address. */
export function calledStationOf(host: string): string | undefined {
  return host === '0.0.0.0' || host === '::' ? undefined : host;
}
