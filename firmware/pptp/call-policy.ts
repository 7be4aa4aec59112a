/*
 * What a PPTP call's PPP link offers and requires, from `listeners.pptp` (issue 22). MS-CHAPv2 (and
 * EAP) by default: the methods that give MPPE its keys (RFC 3079). MPPE-128 stateless required, as
 * Windows does; stateful only for old clients that ask for it; unencrypted calls and CHAP-MD5/PAP only
 * when the technician says so (validation flags both, and refuses the legacy methods without them).
 * EAP is offered after MS-CHAPv2 (Windows' "EAP-MSCHAPv2" setting): it keys MPPE too.
 */
import type { PosternConfig } from '../config/types.ts';
import type { MppePolicy } from '../ppp/mppe/mppe-option.ts';
import type { AuthMethod } from '../ppp/lcp.ts';

export interface PptpCallPolicy {
  /** Offered in LCP, preferred first. */
  readonly auth: readonly AuthMethod[];
  readonly mppe: MppePolicy;
}

export function pptpCallPolicy(settings: PosternConfig['listeners']['pptp']): PptpCallPolicy {
  const mppe = settings.mppe ?? 'stateless';
  return {
    auth: settings.legacyAuth ? ['mschapv2', 'eap', 'chap-md5', 'pap'] : ['mschapv2', 'eap'],
    mppe: { mode: mppe === 'optional' ? 'allow' : 'require', strengths: [128], allowStateful: mppe !== 'stateless' },
  };
}
