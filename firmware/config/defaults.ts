import type { Field } from './schema-types.ts';
import { configSchema } from './schema.ts';
import type { PosternConfig } from './types.ts';

/** A value built from the schema's defaults: objects filled, lists empty, optional fields absent. */
function materialize(field: Field): unknown {
  switch (field.kind) {
    case 'object':
      return Object.fromEntries(
        Object.entries(field.fields)
          .filter(([, child]) => !child.optional)
          .map(([key, child]) => [key, materialize(child)]),
      );
    case 'array':
      return [];
    case 'string':
      return field.default ?? (field.nullable ? null : '');
    default:
      return field.default;
  }
}

/** What a fresh box runs: IKEv2 (EAP-MSCHAPv2) and SSTP on one client pool; L2TP and PPTP off. */
export function defaultConfig(): PosternConfig {
  const config = materialize(configSchema) as PosternConfig;
  config.system.dns.servers = ['1.1.1.1', '9.9.9.9'];
  // Clients ask the resolvers the box itself uses until a technician names the office's (an address
  // inside the pool would be a client's own: nothing on the gateway answers DNS there).
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [...config.system.dns.servers] }];
  config.listeners.ikev2.proposals = {
    // Android/strongSwan and Apple first (AES-GCM with the groups they send KEs for, so the KE fits
    // without an INVALID_KE_PAYLOAD round trip), then what Windows' built-in client offers by default.
    ike: ['aes256gcm16-prfsha256-curve25519', 'aes256gcm16-prfsha256-ecp256', 'aes256gcm16-prfsha256-modp2048', 'aes256-sha256-modp2048', 'aes256-sha256-ecp256', 'aes256-sha1-modp1024'],
    esp: ['aes256gcm16', 'aes256-sha256', 'aes256-sha1'],
  };
  config.certificates.server.sans = ['postern.local'];
  return config;
}
