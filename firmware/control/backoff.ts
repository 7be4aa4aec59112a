/** Exponential lockout: none below `threshold` failures, then `baseMs` doubling per failure, at most `maxMs`. */
export interface BackoffPolicy {
  readonly threshold: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export function lockMs(failures: number, policy: BackoffPolicy): number {
  if (failures < policy.threshold) return 0;
  // The exponent is capped so a long attack cannot overflow to Infinity before the min applies.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, failures - policy.threshold));
}
