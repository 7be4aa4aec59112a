/**
 * Who checks a listener's passwords (issue 21): the local users, RADIUS, or RADIUS and then the
 * local users only when no server answered (never after a server said no). One rule for every
 * method's verifier (MS-CHAPv2, PAP and CHAP-MD5).
 */
import type { Logger } from '../log/logger.ts';

export type AuthSource = 'local' | 'radius' | 'radius-then-local';

export interface Verifier<A, R> {
  verify(attempt: A): R | Promise<R>;
}

export function verifierFor<A, R extends { readonly ok: boolean; readonly noServer?: boolean }>(
  source: AuthSource,
  verifiers: { readonly local: Verifier<A, R>; readonly radius?: Verifier<A, R> | undefined; readonly log?: Logger | undefined },
  /** What the fallback's log line says about the attempt (never a secret). */
  describe: (attempt: A) => Record<string, unknown>,
): Verifier<A, R> {
  if (source === 'local') return verifiers.local;
  const radius = verifiers.radius;
  if (!radius) throw new Error(`auth '${source}' needs a RADIUS client (radius.servers is empty)`);
  if (source === 'radius') return radius;
  return {
    async verify(a) {
      const first = await radius.verify(a);
      if (first.ok || !first.noServer) return first;
      verifiers.log?.warn('no RADIUS server answered: checking the local users instead (radius-then-local)', describe(a));
      return verifiers.local.verify(a);
    },
  };
}
