import { isDeepStrictEqual } from 'node:util';
import type { PosternConfig } from '../config/types.ts';

/**
 * Whether a configuration change touches, of what `slice` reads, only what decides the gateway's own
 * certificate (its names, ACME, the URLs it carries) — the public name changing, say. A listener
 * then takes the new certificate for new connections and keeps its sessions, instead of restarting
 * (issue 16). Trusted CAs and revocation policies are not among these: they change who gets in.
 */
export function onlyGatewayCertificateChanged(previous: PosternConfig, next: PosternConfig, slice: (c: PosternConfig) => unknown): boolean {
  return isDeepStrictEqual(slice(withoutGatewayCertificate(previous)), slice(withoutGatewayCertificate(next)));
}

function withoutGatewayCertificate(config: PosternConfig): PosternConfig {
  const { server: _server, acme: _acme, publication: _publication, ...rest } = config.certificates;
  return { ...config, certificates: { ...rest, server: { commonName: '', sans: [] } } };
}
