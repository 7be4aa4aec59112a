/**
 * A standalone FreeRADIUS 3.2 configuration: one virtual server, PAP/CHAP/MS-CHAP against a users
 * file, accounting accepted and written to `<dir>/detail`. Nothing from /etc/freeradius is read. Syntax: radiusd.conf(5), users(5).
 */

export interface RadiusUser {
  readonly name: string;
  readonly password: string;
  /** Reply attributes, e.g. { 'Framed-IP-Address': '10.10.0.5' }. */
  readonly reply?: Readonly<Record<string, string>>;
}

export interface RadiusSpec {
  readonly address: string;
  readonly clients: ReadonlyArray<{ readonly name: string; readonly network: string; readonly secret: string }>;
  readonly users: readonly RadiusUser[];
  readonly authPort?: number;
  readonly acctPort?: number;
  /**
   * FreeRADIUS 3.2.1 signs replies with Message-Authenticator only when asked to (3.2.5 always
   * does, the Blast-RADIUS fix): 'always', or always but for one user name, to show a client refuses
   * such an answer. Absent: replies without it, as 3.2.1 does by default.
   */
  readonly replyMessageAuthenticator?: 'always' | { readonly exceptUser: string };
  /** FreeRADIUS's EAP server (EAP-MSCHAPv2 first, EAP-MD5 when the peer asks): for a NAS passing EAP through. */
  readonly eap?: boolean;
  /** EAP-TLS too, with these files (written into the directory by FreeRadius.start). */
  readonly eapTls?: { readonly certificatePem: string; readonly keyPem: string; readonly caPem: string };
  /** PEAP (v0, MS-CHAPv2 inside, checked by an inner-tunnel server against the users file); needs eapTls's certificate. */
  readonly eapPeap?: boolean;
  /**
   * RadSec (RFC 6614): a TLS listener for auth+acct on `port` (2083), clients from `network` with
   * the secret "radsec", their certificates checked against `clientCaPem` (written by FreeRadius.start).
   */
  readonly radsec?: { readonly port: number; readonly network: string; readonly certificatePem: string; readonly keyPem: string; readonly clientCaPem: string };
}

/** RadSec's files in the configuration directory. */
export const RADSEC_FILES = { certificate: 'radsec-server.pem', key: 'radsec-server.key', ca: 'radsec-client-ca.pem' } as const;

/** Top level, as Debian's sites-available/tls has it: the listener bound to the default server, its own client list. */
const radsecListener = (dir: string, spec: RadiusSpec): string => (spec.radsec ? `listen {
  ipaddr = ${spec.address}
  port = ${spec.radsec.port}
  type = auth+acct
  proto = tcp
  virtual_server = default
  clients = radsec
  limit {
    max_connections = 16
    lifetime = 0
    idle_timeout = 30
  }
  tls {
    private_key_file = ${dir}/${RADSEC_FILES.key}
    certificate_file = ${dir}/${RADSEC_FILES.certificate}
    ca_file = ${dir}/${RADSEC_FILES.ca}
    cipher_list = "DEFAULT"
    tls_min_version = "1.2"
    tls_max_version = "1.3"
    require_client_cert = yes
    cache {
      enable = no
    }
    verify {
    }
  }
}
clients radsec {
  client postern-radsec {
    ipaddr = ${spec.radsec.network}
    proto = tls
    secret = radsec
  }
}
` : '');

/** EAP-TLS's files in the configuration directory. */
export const EAP_TLS_FILES = { certificate: 'eap-server.pem', key: 'eap-server.key', ca: 'eap-ca.pem' } as const;

const peapSection = `    peap {
      tls = tls-common
      default_eap_type = mschapv2
      copy_request_to_tunnel = yes
      use_tunneled_reply = yes
      virtual_server = "inner-tunnel"
    }
`;

/** PEAP's inner MS-CHAPv2, checked against the same users file. */
const innerTunnel = `server inner-tunnel {
  authorize {
    files
    mschap
    eap {
      ok = return
    }
  }
  authenticate {
    Auth-Type MS-CHAP {
      mschap
    }
    eap
  }
  post-auth {
    ok
  }
}
`;

const eapModule = (dir: string, tls: boolean, peap: boolean): string => `  eap {
    default_eap_type = mschapv2
    timer_expire = 60
    ignore_unknown_eap_types = no
    max_sessions = 64
    md5 {
    }
    mschapv2 {
    }
${tls ? `    tls-config tls-common {
      private_key_file = ${dir}/${EAP_TLS_FILES.key}
      certificate_file = ${dir}/${EAP_TLS_FILES.certificate}
      ca_file = ${dir}/${EAP_TLS_FILES.ca}
      cipher_list = "DEFAULT"
      ecdh_curve = "prime256v1"
      tls_min_version = "1.2"
      tls_max_version = "1.2"
      cache {
        enable = no
      }
    }
    tls {
      tls = tls-common
    }
${peap ? peapSection : ''}` : ''}  }
`;

/** `update reply` adding Message-Authenticator, which the encoder fills in; `always` for Status-Server (no User-Name). */
function signReplies(spec: RadiusSpec, always = false): string {
  const m = spec.replyMessageAuthenticator;
  if (!m) return '';
  const update = 'update reply {\n      &Message-Authenticator := 0x00\n    }';
  return m === 'always' || always ? `    ${update}\n` : `    if (&User-Name != ${quote(m.exceptUser)}) {\n      ${update}\n    }\n`;
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

export function radiusdConf(dir: string, spec: RadiusSpec): string {
  const clients = spec.clients
    .map((c) => `client ${c.name} {\n  ipaddr = ${c.network}\n  secret = ${quote(c.secret)}\n  require_message_authenticator = no\n}`)
    .join('\n');
  return `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}
raddbdir = ${dir}
radacctdir = ${dir}
name = freeradius
confdir = ${dir}
modconfdir = ${dir}
certdir = ${dir}
cadir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/radiusd.pid
max_request_time = 10
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
log {
  destination = files
  file = ${dir}/radius.log
  colourise = no
  auth = yes
  auth_badpass = no
  auth_goodpass = no
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}
thread pool {
  start_servers = 2
  max_servers = 8
  min_spare_servers = 1
  max_spare_servers = 4
}
${clients}
${radsecListener(dir, spec)}modules {
  pap {
    normalise = yes
  }
  chap {
  }
  mschap {
  }
  always ok {
    rcode = ok
  }
  files {
    filename = ${dir}/users
    acctusersfile = ${dir}/acct_users
  }
  detail {
    filename = ${dir}/detail
    permissions = 0600
  }
${spec.eap ? eapModule(dir, spec.eapTls !== undefined, spec.eapPeap === true) : ''}}
server default {
  listen {
    type = auth
    ipaddr = ${spec.address}
    port = ${spec.authPort ?? 1812}
  }
  listen {
    type = acct
    ipaddr = ${spec.address}
    port = ${spec.acctPort ?? 1813}
  }
  authorize {
    files
${spec.eap ? '    eap\n' : ''}    mschap
    chap
    pap
    Autz-Type Status-Server {
${signReplies(spec, true)}      ok
    }
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
    Auth-Type CHAP {
      chap
    }
    Auth-Type MS-CHAP {
      mschap
    }
${spec.eap ? '    Auth-Type EAP {\n      eap\n    }\n' : ''}  }
  accounting {
    detail
    ok
  }
  post-auth {
${signReplies(spec)}    ok
    Post-Auth-Type REJECT {
${signReplies(spec)}      ok
    }
  }
}
${spec.eap && spec.eapTls && spec.eapPeap ? innerTunnel : ''}`;
}

export function usersFile(users: readonly RadiusUser[]): string {
  return users
    .map((u) => {
      const reply = Object.entries(u.reply ?? {}).map(([k, v]) => `\t${k} = ${quote(v)}`);
      return `${quote(u.name)}\tCleartext-Password := ${quote(u.password)}${reply.length ? `\n${reply.join(',\n')}` : ''}\n`;
    })
    .join('\n');
}
