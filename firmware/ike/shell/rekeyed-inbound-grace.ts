/**
 * How long the old inbound SA of a rekeyed child still opens packets once the exchange that ended it is
 * done (strongSwan's `delete_rekeyed_delay` is 5 s too). ESP and IKE reach the gateway on different paths
 * (the driver's threads and JavaScript), so a packet the peer sealed on the old SA just before it
 * switched can arrive after the DELETE that ends that SA; dropping it would lose a packet per rekey on a
 * loaded box. The outbound SA goes at once: nothing is sent on it after the switch.
 */
export const REKEYED_INBOUND_GRACE_MS = 5_000;

/** Runs `retire` after the grace; the timer never holds the process open. */
export type GraceTimer = (ms: number, retire: () => void) => { cancel(): void };

export const graceTimer: GraceTimer = (ms, retire) => {
  const timer = setTimeout(retire, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};
