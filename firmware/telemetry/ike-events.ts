/*
 * What the fleet console hears of IKE (MQTT events), sans-I/O: a site's tunnel up and down, a remote-access
 * session up and down with its user (remembered by the IKE SA's SPI across rekeys, since the SA's end no
 * longer names it), rekeys, refused logins. The IKEv1 SAs under L2TP are not sessions of their own: the
 * L2TP session (or L2TP site) above them reports itself.
 */
import type { IkeAction } from '../ike/engine/types.ts';
import { L2TP_IKEV1_CONNECTION, L2TP_SITE_PREFIX } from '../ikev1/ikev1-connections.ts';
import type { EventType } from './schema.ts';

export interface IkeTelemetryEvent {
  readonly type: EventType;
  readonly details: Readonly<Record<string, unknown>>;
}

export class IkeEventMapper {
  /** Remote-access SAs that are up: their user and virtual address, by IKE SA SPI. */
  readonly #sessions = new Map<bigint, { readonly user: string; readonly address?: string }>();
  /** The protocol a site speaks ('ikev1' or 'ikev2'), by site name. */
  readonly #siteProtocol: (site: string) => string | undefined;

  constructor(siteProtocol: (site: string) => string | undefined) {
    this.#siteProtocol = siteProtocol;
  }

  map(action: IkeAction): IkeTelemetryEvent[] {
    const connection = action.type === 'rekey-child' ? action.child.connection : 'connection' in action ? action.connection : undefined;
    if (connection === undefined || connection === L2TP_IKEV1_CONNECTION || connection.startsWith(L2TP_SITE_PREFIX)) return [];
    const site = connection.startsWith('site:') ? connection.slice(5) : undefined;
    const protocol = site !== undefined && this.#siteProtocol(site) === 'ikev1' ? 'ikev1' : 'ikev2';
    switch (action.type) {
      case 'ike-up': {
        if (site !== undefined) return [{ type: 'tunnel-up', details: { protocol, site, peer: action.remote.address } }];
        const address = action.virtualIp?.ipv4;
        this.#sessions.set(action.spi, { user: action.remoteId, ...(address ? { address } : {}) });
        return [{ type: 'session-up', details: { protocol, user: action.remoteId, connection, ...(address ? { address } : {}) } }];
      }
      case 'ike-rekeyed': {
        const session = this.#sessions.get(action.oldSpi);
        if (session) {
          this.#sessions.delete(action.oldSpi);
          this.#sessions.set(action.spi, session);
        }
        return [{ type: 'rekey', details: { protocol, what: 'ike' } }];
      }
      case 'rekey-child':
        return action.confirmed ? [] : [{ type: 'rekey', details: { protocol, what: 'child' } }];
      case 'ike-down': {
        const refused = /AUTHENTICATION_FAILED|authentication/i.test(action.reason) ? [{ type: 'auth-failure' as const, details: { protocol, connection, reason: action.reason } }] : [];
        if (site !== undefined) return [{ type: 'tunnel-down', details: { protocol, site, reason: action.reason } }, ...refused];
        // Only a session that was up ends; an attempt that never got there is at most a refused login.
        const session = this.#sessions.get(action.spi);
        if (!session) return refused;
        this.#sessions.delete(action.spi);
        return [{ type: 'session-down', details: { protocol, connection, user: session.user, ...(session.address ? { address: session.address } : {}), reason: action.reason } }, ...refused];
      }
      default:
        return [];
    }
  }
}
