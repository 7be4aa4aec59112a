/**
 * strongSwan configuration for a lab peer, generated from a typed description (pure text builders,
 * unit-tested without root). Syntax: strongswan.conf(5) and swanctl.conf(5).
 */

export interface SwanChild {
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly espProposals: readonly string[];
  readonly mode?: 'tunnel' | 'transport';
  readonly startAction?: 'none' | 'trap' | 'start';
}

export interface SwanAuth {
  /** Also a signature scheme: 'rsa/pss-sha256', 'ecdsa-sha384' (swanctl.conf's auth keywords). */
  readonly auth: 'psk' | 'pubkey' | 'eap-mschapv2' | 'eap-tls' | 'eap-peap' | 'eap' | `rsa${string}` | `ecdsa${string}`;
  readonly id: string;
  /** File names under swanctl/x509 (certs) for pubkey authentication. */
  readonly certs?: readonly string[];
  readonly eapId?: string;
  /** EAP-TLS and EAP-PEAP (local side): the AAA server's identity in its certificate (the IKE gateway's ID when absent). */
  readonly aaaId?: string;
}

export interface SwanConnection {
  readonly localAddrs: readonly string[];
  readonly remoteAddrs: readonly string[];
  readonly proposals: readonly string[];
  readonly local: SwanAuth;
  readonly remote: SwanAuth;
  readonly children: Readonly<Record<string, SwanChild>>;
  readonly pools?: readonly string[];
  readonly vips?: readonly string[];
  readonly fragmentation?: boolean;
  readonly mobike?: boolean;
  /** IKE version (1 for the IKEv1 tests); 2 when absent. */
  readonly version?: 1 | 2;
  /** IKEv1 Aggressive Mode (a responder also needs the charon option that allows it with PSK). */
  readonly aggressive?: boolean;
  /** IKE SA renewal (swanctl rekey_time; with IKEv1 a reauthentication), e.g. '20s', and its randomization (rand_time). */
  readonly rekeyTime?: string;
  readonly randTime?: string;
  /** Dead peer detection's interval (swanctl dpd_delay, e.g. '1s'); none when absent. */
  readonly dpdDelay?: string;
  /** swanctl's uniqueness policy: 'never' also keeps charon from sending INITIAL_CONTACT. */
  readonly unique?: 'no' | 'never' | 'replace' | 'keep';
}

export interface SwanSecret {
  /** pkcs12: `file` (under swanctl/pkcs12) is a PKCS#12 bundle and `secret` its password. */
  readonly kind: 'ike' | 'eap' | 'pkcs12';
  readonly ids: readonly string[];
  readonly secret: string;
  readonly file?: string;
}

export interface SwanSpec {
  readonly connections: Readonly<Record<string, SwanConnection>>;
  /** More charon settings, one `key = value` per line (benchmarks raise the DoS limits). */
  readonly charonOptions?: readonly string[];
  /** Plugins loaded beside CHARON_PLUGINS (e.g. eap-tls). */
  readonly plugins?: readonly string[];
  /**
   * `quiet`: charon's log at level 0 (what a benchmark's other side logs: warnings and errors), its
   * lines not flushed one by one; otherwise the lab's detailed log that tests read.
   */
  readonly log?: 'lab' | 'quiet';
  /** Shared objects charon is started with in LD_PRELOAD: plugins Debian does not ship (strongswan-eap-peap.ts). */
  readonly preload?: readonly string[];
  /** Files to put under the swanctl directory first ("x509ca/ca.pem", "x509/me.pem", "private/me.key"). */
  readonly files?: Readonly<Record<string, string>>;
  /** Binary files likewise (a PKCS#12 under "pkcs12/"); the namespace peer only. */
  readonly binaryFiles?: Readonly<Record<string, Buffer>>;
  readonly secrets?: readonly SwanSecret[];
  readonly pools?: Readonly<Record<string, { readonly addrs: string; readonly dns?: readonly string[] }>>;
}

/** The plugins charon loads: no autoloading, so the same list works on every Debian install. */
export const CHARON_PLUGINS = [
  'random', 'nonce', 'openssl', 'aes', 'sha1', 'sha2', 'hmac', 'gcm', 'curve25519', 'kdf', 'pem', 'pkcs1', 'pkcs8',
  'x509', 'pubkey', 'revocation', 'constraints', 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici',
  'updown', 'attr', 'eap-identity', 'eap-mschapv2', 'eap-md5', 'pkcs12',
] as const;

export function strongswanConf(dir: string, extra: readonly string[] = [], plugins: readonly string[] = [], log: 'lab' | 'quiet' = 'lab'): string {
  const quiet = log === 'quiet';
  return `charon {
${extra.map((l) => `  ${l}\n`).join('')}  load_modular = no
  load = ${[...CHARON_PLUGINS, ...plugins].join(' ')}
  install_virtual_ip = yes
  plugins {
    vici {
      socket = unix://${dir}/charon.vici
    }
    kernel-libipsec {
      allow_peer_ts = yes
    }
  }
  filelog {
    lab {
      path = ${dir}/charon.log
      time_format = %H:%M:%S
      default = ${quiet ? 0 : 1}
      ike = ${quiet ? 0 : process.env["POSTERN_LAB_IKE_LOG"] ?? "2"}
      chd = ${quiet ? 0 : process.env["POSTERN_LAB_IKE_LOG"] ?? "1"}
      cfg = ${quiet ? 0 : 2}
      knl = ${quiet ? 0 : 1}
      flush_line = ${quiet ? 'no' : 'yes'}
    }
  }
}
swanctl {
  socket = unix://${dir}/charon.vici
}
`;
}

const list = (items: readonly string[]): string => items.join(', ');

function authSection(name: string, a: SwanAuth): string {
  const lines = [`auth = ${a.auth}`, `id = ${a.id}`];
  if (a.certs?.length) lines.push(`certs = ${list(a.certs)}`);
  if (a.eapId) lines.push(`eap_id = ${a.eapId}`);
  if (a.aaaId) lines.push(`aaa_id = ${a.aaaId}`);
  return `    ${name} {\n${lines.map((l) => `      ${l}`).join('\n')}\n    }`;
}

function childSection(name: string, c: SwanChild): string {
  return `      ${name} {
        local_ts = ${list(c.localTs)}
        remote_ts = ${list(c.remoteTs)}
        esp_proposals = ${list(c.espProposals)}
        mode = ${c.mode ?? 'tunnel'}
        start_action = ${c.startAction ?? 'none'}
      }`;
}

function connectionSection(name: string, c: SwanConnection): string {
  const extra = [
    c.pools?.length ? `pools = ${list(c.pools)}` : '',
    c.vips?.length ? `vips = ${list(c.vips)}` : '',
    `fragmentation = ${c.fragmentation === false ? 'no' : 'yes'}`,
    `mobike = ${c.mobike === false ? 'no' : 'yes'}`,
    c.unique ? `unique = ${c.unique}` : '',
    c.aggressive ? 'aggressive = yes' : '',
    c.rekeyTime ? `rekey_time = ${c.rekeyTime}` : '',
    c.randTime ? `rand_time = ${c.randTime}` : '',
    c.dpdDelay ? `dpd_delay = ${c.dpdDelay}` : '',
  ].filter(Boolean);
  return `  ${name} {
    version = ${c.version ?? 2}
    local_addrs = ${list(c.localAddrs)}
    remote_addrs = ${list(c.remoteAddrs)}
    proposals = ${list(c.proposals)}
${extra.map((l) => `    ${l}`).join('\n')}
${authSection('local', c.local)}
${authSection('remote', c.remote)}
    children {
${Object.entries(c.children).map(([n, child]) => childSection(n, child)).join('\n')}
    }
  }`;
}

/** swanctl.conf; secrets are quoted so that any characters survive. */
export function swanctlConf(spec: SwanSpec): string {
  const connections = Object.entries(spec.connections).map(([n, c]) => connectionSection(n, c)).join('\n');
  const secrets = (spec.secrets ?? [])
    .map((s, i) => `  ${s.kind}-${i} {\n${s.file ? `    file = ${s.file}\n` : ''}${s.ids.map((id, j) => `    id-${j} = ${id}\n`).join('')}    secret = "${s.secret.replace(/["\\]/g, '\\$&')}"\n  }`)
    .join('\n');
  const pools = Object.entries(spec.pools ?? {})
    .map(([n, p]) => `  ${n} {\n    addrs = ${p.addrs}${p.dns?.length ? `\n    dns = ${list(p.dns)}` : ''}\n  }`)
    .join('\n');
  return `connections {\n${connections}\n}\nsecrets {\n${secrets}\n}\npools {\n${pools}\n}\n`;
}
