/*
 * Counts by name whose object is made at the first count (issue 23): thousands of calls' engines each
 * keep drop counters that mostly stay empty, and an empty object still costs about 56 bytes apiece.
 */

/** What an engine that counted nothing shows. */
export const NOTHING_COUNTED: Readonly<Record<string, number>> = Object.freeze({});

/** One more under `name`: the counts given (made now when absent), to be kept by the caller. */
export function countInto(counts: Record<string, number> | undefined, name: string): Record<string, number> {
  const c = counts ?? {};
  c[name] = (c[name] ?? 0) + 1;
  return c;
}
