/*
 * A call's credentials are with a RADIUS server: the time that takes is the server's, not the
 * client's. A shell that limits how long a client may take to log in (SSTP's handshake timeout)
 * hears when a call starts and stops waiting, so a failover to the second server (2 + 4 + 8 s of
 * retransmissions to a dead first one) is not counted against the client.
 */
import type { RadiusResult } from '../radius/client-engine.ts';
import type { RadiusAttribute } from '../radius/packet.ts';
import type { Secret } from '../util/secret.ts';

/** true when the call's first request goes out, false when its last pending answer is in. */
export type RadiusWaitWatch = (waiting: boolean) => void;

export interface RadiusAuthenticator {
  authenticate(attributes: readonly RadiusAttribute[], userPassword?: Secret<Uint8Array>): Promise<RadiusResult>;
}

/** `client` for one call, telling `watch` while any of its requests is unanswered. */
export function watchedRadius(client: RadiusAuthenticator, watch: RadiusWaitWatch | undefined): RadiusAuthenticator {
  if (!watch) return client;
  let pending = 0;
  const settled = (): void => {
    if (--pending === 0) watch(false);
  };
  return {
    authenticate(attributes, userPassword) {
      if (pending++ === 0) watch(true);
      const answer = client.authenticate(attributes, userPassword);
      answer.then(settled, settled);
      return answer;
    },
  };
}
