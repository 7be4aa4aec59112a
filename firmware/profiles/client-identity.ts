/*
 * The IKE identity a user's client certificate carries and every profile sends (issue 17). An e-mail
 * address (RFC 822 subjectAltName, IKE ID_RFC822_ADDR) because every client sends that form as it is:
 * Apple's LocalIdentifier and strongSwan's `id` with an '@' become ID_RFC822_ADDR, and the gateway
 * matches it against the certificate's subjectAltName only (ike/crypto/peer-certificate.ts). Windows
 * sends the certificate's subject DN instead, which names the user too (CN = user name).
 */
import { isDnsName } from '../pki/names.ts';
import type { PosternConfig } from '../config/types.ts';

/** `alice@vpn.branch1.example.com`; a user named like an address keeps it (`bob@example.com`). */
export function clientIdentity(config: PosternConfig, user: string): string {
  if (user.includes('@')) return user;
  const domain = [config.system.publicName, config.system.hostname].find((n): n is string => !!n && isDnsName(n.toLowerCase())) ?? 'postern';
  return `${user}@${domain.toLowerCase()}`;
}
