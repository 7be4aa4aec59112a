/**
 * What the gateway's EAP side is to IKEv2 (RFC 7296 §2.16) and PPP EAP: packets in, packets out.
 * EAP-MSCHAPv2 checked through a verifier (mschapv2-server.ts), or every method relayed to RADIUS
 * (eap-radius-relay.ts). A step the server cannot take yet (RADIUS is deciding) is 'pending';
 * `resume()` gives it once the server has been told (`onVerdict`) that it can.
 */
import type { SessionAuthorization } from '../../radius/session-authorization.ts';
import type { Secret } from '../../util/secret.ts';
import type { EapPacket } from './eap-packet.ts';

export interface MppeMasterKeys {
  readonly send: Secret<Uint8Array>;
  readonly receive: Secret<Uint8Array>;
}

export type EapStep =
  | { readonly status: 'continue'; readonly send: EapPacket }
  /** The verifier (RADIUS) answers later: nothing to send now; `resume()` has the step once it did. */
  | { readonly status: 'pending' }
  /** `authorization`: what a RADIUS Access-Accept said about the session (relayed EAP only). */
  /**
   * `mppe`: the server's MPPE master keys (RFC 3079: 16 octets each) for PPP links that encrypt with
   * MPPE (PPTP): EAP-MSCHAPv2's own, or the first 16 octets of RADIUS's MS-MPPE keys.
   */
  | { readonly status: 'success'; readonly send: EapPacket; readonly identity: string; readonly msk: Buffer; readonly mppe?: MppeMasterKeys; readonly authorization?: SessionAuthorization }
  | { readonly status: 'failure'; readonly send: EapPacket; readonly reason: string; readonly identity?: string };

export interface EapServer {
  /** The first request (EAP Identity). */
  start(): EapPacket;
  receive(p: EapPacket): EapStep;
  /** The step a later answer made, once; undefined while there is none. */
  resume(): EapStep | undefined;
  /** True while such a step waits to be taken by `resume()`. */
  readonly verdictReady: boolean;
}
