export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Spread as a fraction of the delay, both ways (0.2: ±20 %). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 };

/**
 * The wait before reconnect attempt `attempt` (0 for the first after a loss): 1 s doubling to 60 s.
 * The jitter keeps a fleet that lost its broker together from coming back in lockstep.
 */
export function reconnectDelay(attempt: number, random: () => number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.round(Math.min(options.maxMs, Math.max(0, base + spread)));
}
