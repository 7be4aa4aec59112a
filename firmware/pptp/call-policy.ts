/*
 * What a PPTP call's PPP link offers and requires, from `listeners.pptp` (issue 22). MS-CHAPv2 (and
 * EAP) by default: the methods that give MPPE its keys (RFC 3079). MPPE-128 stateless required, as
 * Windows does; stateful only for old clients that ask for it; unencrypted calls and the legacy methods
 * (MS-CHAPv1, CHAP-MD5, PAP) only when the technician says so (validation flags both, and refuses the
 * legacy methods without unencrypted calls: CHAP-MD5 and PAP make no keys; MS-CHAPv1 does).
 * EAP is offered after MS-CHAPv2 (Windows' "EAP-MSCHAPv2" setting): it keys MPPE too.
 */
import type { PosternConfig } from '../config/types.ts';
import type { MppePolicy } from '../ppp/mppe/mppe-option.ts';
import type { AuthMethod } from '../ppp/lcp.ts';
import { listenerAuthMethods } from '../access/ppp-authenticators.ts';

export interface PptpCallPolicy {
  /** Offered in LCP, preferred first. */
  readonly auth: readonly AuthMethod[];
  readonly mppe: MppePolicy;
}

export function pptpCallPolicy(settings: PosternConfig['listeners']['pptp']): PptpCallPolicy {
  const mppe = settings.mppe ?? 'stateless';
  return {
    auth: listenerAuthMethods(settings.legacyAuth),
    mppe: { mode: mppe === 'optional' ? 'allow' : 'require', strengths: [128], allowStateful: mppe !== 'stateless' },
  };
}
