import type { IkePeerConnection } from './peers/postern-ike-peer.ts';
import type { SwanConnection, SwanSecret } from './peers/strongswan-config.ts';

/** The two site-to-site ends the IKEv2 interop tests use: strongSwan as gw-a, Postern as gw-b. */
export const SITE_PSK = 'site-to-site-psk-0123456789abcdef';

export function swanSite(options: { local: string; remote: string; proposals: string[]; esp: string[] }): SwanConnection {
  return {
    localAddrs: [options.local], remoteAddrs: [options.remote], proposals: options.proposals,
    local: { auth: 'psk', id: 'gw-a.example' }, remote: { auth: 'psk', id: 'gw-b.example' },
    children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: options.esp } },
  };
}

export const swanSecrets = (secret = SITE_PSK): SwanSecret[] => [{ kind: 'ike', ids: ['gw-a.example', 'gw-b.example'], secret }];

/** Postern's side; `remoteAddress` is where it initiates to (the strongSwan end or its NAT). */
export function posternSite(remoteAddress: string, over: Partial<IkePeerConnection> = {}): IkePeerConnection {
  return {
    name: 'to-a', localId: 'gw-b.example', remoteId: 'gw-a.example', remoteAddress, psk: SITE_PSK,
    ike: ['aes256-sha256-modp2048', 'aes128gcm16-prfsha256-curve25519'], esp: ['aes256gcm16', 'aes256-sha1'],
    localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], mode: 'tunnel', dpdSeconds: 30, ...over,
  };
}
