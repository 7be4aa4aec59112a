import { X509Certificate } from 'node:crypto';
import type { ConfigIssue, PosternConfig } from './types.ts';

/** certificates.trusted (issue 16): each entry a readable CA certificate, so none is silently left out at start. */
export function trustedCaErrors(config: PosternConfig): ConfigIssue[] {
  return (config.certificates.trusted ?? []).flatMap((t, i): ConfigIssue[] => {
    const path = `certificates.trusted[${i}].certificate`;
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(t.certificate);
    } catch {
      return [{ path, code: 'format', message: 'is not a readable PEM certificate' }];
    }
    return ca.ca ? [] : [{ path, code: 'format', message: `'${ca.subject.replace(/\n/g, ', ')}' is not a CA certificate` }];
  });
}
