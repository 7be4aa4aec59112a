import { CURRENT_VERSION } from './migrations.ts';
import type { ArrayField, BooleanField, Field, IntegerField, ObjectField, StringField } from './schema-types.ts';

/** The schema of configuration format 3 (types.ts has the same shape as TypeScript types). */

const str = (label: string, more: Omit<StringField, 'kind' | 'label'> = {}): StringField => ({ kind: 'string', label, ...more });
const int = (label: string, min: number, max: number, more: Omit<IntegerField, 'kind' | 'label' | 'min' | 'max'> = {}): IntegerField => ({ kind: 'integer', label, min, max, ...more });
const bool = (label: string, value: boolean, more: Omit<BooleanField, 'kind' | 'label'> = {}): BooleanField => ({ kind: 'boolean', label, default: value, ...more });
const list = (label: string, items: Field, maxItems: number, more: Omit<ArrayField, 'kind' | 'label' | 'items' | 'maxItems'> = {}): ArrayField => ({ kind: 'array', label, items, maxItems, ...more });
const obj = (label: string, fields: Record<string, Field>, more: Omit<ObjectField, 'kind' | 'label' | 'fields'> = {}): ObjectField => ({ kind: 'object', label, fields, ...more });

function listenerAuth(): StringField {
  return str('Authentication', { enum: ['local', 'radius', 'radius-then-local'], optional: true, help: 'local: the users here; radius: the RADIUS servers; radius-then-local: the users here only when no RADIUS server answers (logged). Local when empty' });
}
const poolRef = (label: string) => str(label, { format: 'name', default: 'clients', help: 'The name of an address pool' });
const proposals = (label: string, defaults: string) =>
  list(label, str('Proposal', { format: 'proposal' }), 16, { help: `Preferred first, e.g. ${defaults}` });

const system = obj('System', {
  hostname: str('Hostname', { format: 'hostname', default: 'postern' }),
  // Issue 17: profiles dialled postern.local, which nothing outside the LAN resolves.
  publicName: str('Public name', { format: 'hostname', optional: true, maxLength: 253, help: 'The DNS name clients dial from the Internet, e.g. vpn.branch1.example.com; every profile and the gateway certificate carry it' }),
  publicAddress: str('Public address', { format: 'ip', optional: true, help: 'The address clients dial when there is no name (the WAN address, or the upstream router\'s when the gateway is behind one)' }),
  timezone: str('Time zone', { format: 'timezone', default: 'UTC' }),
  wan: obj('WAN', {
    interface: str('Interface', { format: 'interface', default: 'eth0' }),
    mode: str('Addressing', { enum: ['dhcp', 'static'], default: 'dhcp' }),
    address: str('Address', { format: 'address4', optional: true, help: 'With the prefix length, e.g. 203.0.113.5/24' }),
    gateway: str('Gateway', { format: 'ipv4', optional: true }),
  }),
  lan: obj('LAN', {
    interface: str('Interface', { format: 'interface', default: 'eth1' }),
    address: str('Address', { format: 'address4', default: '192.168.1.1/24' }),
  }),
  dns: obj('DNS', { servers: list('Servers', str('Server', { format: 'ip' }), 8) }),
  // Issue 17: the public name follows a WAN address that changes (RFC 2136 with TSIG, or a dyndns2-style URL).
  dynamicDns: obj('Dynamic DNS', {
    enabled: bool('Update the public name when the WAN address changes', false),
    method: str('Method', { enum: ['rfc2136', 'http'], default: 'rfc2136', help: 'RFC 2136 to your own DNS server with a TSIG key, or a provider\'s update URL' }),
    server: str('DNS server', { format: 'ip', optional: true, help: 'The primary server of the zone (RFC 2136)' }),
    port: int('DNS port', 1, 65535, { default: 53 }),
    zone: str('Zone', { format: 'hostname', optional: true, help: 'e.g. example.com (RFC 2136)' }),
    keyName: str('TSIG key name', { format: 'hostname', optional: true, help: 'As the DNS server knows it (BIND: key "name")' }),
    keySecret: str('TSIG key (base64, HMAC-SHA256)', { secret: true, optional: true, minLength: 16 }),
    url: str('Update URL', { secret: true, optional: true, maxLength: 512, help: 'dyndns2 style, with {name} and {address}: https://members.dyndns.org/nic/update?hostname={name}&myip={address}' }),
    username: str('Update user name', { optional: true, maxLength: 128 }),
    password: str('Update password', { secret: true, optional: true, maxLength: 256 }),
    ttl: int('TTL (seconds)', 30, 86400, { default: 60 }),
  }, { optional: true, help: 'Off unless set: the public name is then kept by hand' }),
  ntp: obj('Time', { servers: list('NTP servers', str('Server', { format: 'host' }), 8, { help: 'Names or addresses, e.g. pool.ntp.org' }) }, { optional: true, help: "The system's own NTP servers when empty" }),
  management: obj('Management', {
    listen: str('Listen address', { format: 'ip', default: '127.0.0.1', help: 'The LAN address on a board' }),
    port: int('Port', 1, 65535, { default: 8080 }),
    // On by default (issue 17): the gateway certificate is made at first start, and plain HTTP on the same
    // port is redirected. Off is for a reverse proxy in front, or tests that talk plain HTTP.
    https: bool('HTTPS', true, { help: 'The web UI and API over HTTPS with the gateway certificate; plain HTTP on the same port is redirected to it. Off: plain HTTP only (passwords cross the LAN readable)' }),
    // HSTS pins browsers to HTTPS for a year: right with a public CA's certificate (sent then anyway),
    // a trap with Postern's own CA (a browser that does not trust it could never click through again).
    hsts: bool('Send HSTS with the built-in CA\'s certificate', false, { optional: true, help: 'Sent anyway when the gateway certificate is from a public CA (ACME or imported); turn on only once every browser trusts the Postern CA' }),
    // The box answers only to its own names (a DNS-rebinding page names its own host, issue 15.8).
    allowedHosts: list('Extra names for the web UI', str('Name or address', { format: 'host' }), 32, {
      optional: true,
      help: 'Host names or addresses the web UI may be reached by, besides the hostname, the certificate names and the box\'s addresses (e.g. a name a port forward uses)',
    }),
  }),
});

const admin = obj('Administrator', {
  passwordHash: str('Password hash', { nullable: true, secret: true, help: 'Set by the first-boot setup' }),
  sessionTimeoutMinutes: int('Session timeout (minutes)', 1, 1440, { default: 30 }),
});

const user = obj('User', {
  name: str('Name', { format: 'name' }),
  ntHash: str('Password (NT hash)', { secret: true, format: 'ntHash', minLength: 32, help: 'Made from the password given to the API or web UI; the password itself is not kept' }),
  password: str('Password kept in clear (CHAP-MD5 only)', { secret: true, optional: true, minLength: 8, maxLength: 128 }),
  chapMd5: bool('Allow CHAP-MD5 (keeps the password in clear; insecure)', false, { optional: true }),
  enabled: bool('Enabled', true),
  staticIPv4: str('Fixed address', { format: 'ipv4', optional: true }),
});

const pool = obj('Address pool', {
  name: str('Name', { format: 'name' }),
  ipv4: str('IPv4 range', { format: 'cidr4', help: 'e.g. 10.10.0.0/24' }),
  ipv6: str('IPv6 prefix', { format: 'cidr6', optional: true }),
  dns: list('DNS servers for clients', str('Server', { format: 'ip' }), 4),
  // Issue 20: what a PPP client's DHCPINFORM is answered with (Windows with "use default gateway" off).
  routes: list('Office networks for clients (split tunnel)', str('Subnet', { format: 'cidr4' }), 32, { optional: true, help: 'Sent to PPP clients (SSTP, L2TP) that ask with DHCPINFORM, as classless routes; the LAN when empty' }),
  domain: str('DNS domain for clients', { format: 'host', optional: true, help: 'Sent with the routes (DHCP option 15)' }),
});

const listeners = obj('Listeners', {
  ikev2: obj('IKEv2', {
    enabled: bool('Enabled', true),
    auth: str('Client authentication', { enum: ['eap-mschapv2', 'certificate', 'psk'], default: 'eap-mschapv2' }),
    // Issue 21: who checks EAP-MSCHAPv2 passwords (`auth` above already names the method).
    userAuth: listenerAuth(),
    eapPassThrough: bool('EAP passed through to RADIUS', false, { optional: true, help: 'With RADIUS: the client and the RADIUS server run any EAP method they agree on (EAP-MSCHAPv2, PEAP, EAP-TLS); the server must send the MSK (MS-MPPE keys)' }),
    psk: str('Pre-shared key', { secret: true, optional: true, minLength: 16 }),
    pool: poolRef('Pool'),
    proposals: obj('Proposals', {
      ike: proposals('IKE', 'aes256gcm16-prfsha256-curve25519'),
      esp: proposals('ESP', 'aes256gcm16'),
    }),
    mobike: bool('MOBIKE', true),
    fragmentation: bool('IKE fragmentation', true),
  }),
  sstp: obj('SSTP', {
    enabled: bool('Enabled', true),
    port: int('Port', 1, 65535, { default: 443 }),
    pool: poolRef('Pool'),
    // TLS already encrypts SSTP; MPPE inside it only serves clients set to demand it (NetworkManager-sstp's "Use MPPE").
    mppe: str('MPPE inside SSTP', { enum: ['off', 'allow', 'require'], default: 'off', help: 'Only for clients configured to require MPPE; TLS already encrypts SSTP' }),
    // Issue 23: each call's TLS and its IP in the driver; 'javascript' keeps Node's TLS and every packet in JavaScript.
    dataPath: str('Data path', { enum: ['native', 'javascript'], optional: true, help: 'native (the default when the driver has it): TLS and IP in the driver; javascript: Node\'s TLS, every packet through JavaScript' }),
    // Issue 23: kTLS where the kernel has the tls module; a kernel before 6.14 cannot take a TLS 1.3 KeyUpdate, which then ends the call.
    kernelTls: bool('Kernel TLS', true, { optional: true, help: 'Where the kernel has the tls module, it seals and opens the calls\' records. Before Linux 6.14 a client\'s TLS 1.3 KeyUpdate ends its call (it redials): turn off if clients send them' }),
    // Unfinished connections (TCP accepted, call not yet established) have their own budget apart from calls (issue 15).
    limits: obj('Connection limits', {
      perSource: int('Unfinished connections per source', 1, 65_535, { optional: true, help: 'Per IPv4 address or IPv6 /64, until the call is established; 32 when empty' }),
      handshakes: int('Unfinished connections in all', 1, 65_535, { optional: true, help: 'When full, the oldest one makes room for a new one; 1024 when empty' }),
      calls: int('Established calls', 1, 65_535, { optional: true, help: '4096 when empty' }),
      handshakeSeconds: int('Handshake timeout (s)', 2, 120, { optional: true, help: 'From TCP accept until the call is established, not counting the time the RADIUS server takes; 15 when empty' }),
    }, { optional: true }),
    auth: listenerAuth(),
  }),
  l2tp: obj('L2TP/IPsec', {
    enabled: bool('Enabled', false),
    auth: listenerAuth(),
    psk: str('Group pre-shared key', { secret: true, default: '' }),
    pool: poolRef('Pool'),
    // Issue 20: RFC 2661 §4.2 tunnel authentication; with it our session AVPs are hidden too (§4.3).
    secret: str('L2TP tunnel secret', { secret: true, optional: true, minLength: 8, maxLength: 128, help: 'Only for clients configured with one (xl2tpd, routers); Windows, macOS and iOS send none: leave empty for them' }),
    allowPlain: bool('Plain L2TP without IPsec (insecure)', false, { optional: true, help: 'Accepts L2TP on UDP 1701 outside the IPsec SA: PPP then crosses the network unencrypted. For tests and trusted links only' }),
    legacyAuth: bool('Allow MS-CHAPv1, CHAP-MD5 and PAP (insecure)', false, { optional: true, help: 'For devices that cannot do MS-CHAPv2. PAP sends the password in clear inside IPsec; MS-CHAPv1 and CHAP-MD5 can be cracked offline, and MS-CHAPv1 does not prove the gateway knows the password. Checked by the local users or by RADIUS (MS-CHAP-Response, CHAP-Password, User-Password), as auth says' }),
    // Issue 19, reserved for the L2TP issue: the IKEv1 transport-mode SA that L2TP/IPsec clients key.
    ipsec: obj('IPsec (IKEv1)', {
      auth: str('Client authentication', { enum: ['psk', 'certificate'], default: 'psk', help: 'psk: the group pre-shared key above; certificate: the gateway certificate and client certificates from a trusted CA' }),
      proposals: obj('Proposals', {
        ike: proposals('IKE (phase 1)', 'aes256-sha256-modp2048'),
        esp: proposals('ESP (phase 2)', 'aes256-sha1'),
      }, { optional: true }),
      // Issue 20: a client that vanishes without hanging up holds its session and address until DPD declares it dead.
      dpdSeconds: int('Dead peer detection after (s)', 5, 3600, { optional: true, help: 'R-U-THERE (RFC 3706) after this long without hearing from a client; 30 when empty' }),
      dpdTimeoutSeconds: int('Dead peer timeout (s)', 5, 3600, { optional: true, help: 'A client that answers no R-U-THERE for this long is dead: its session ends and its address goes back to the pool; when empty, after 6 unanswered tries (about 2 minutes)' }),
    }, { optional: true }),
  }),
  pptp: obj('PPTP (legacy, insecure)', {
    enabled: bool('Enabled', false),
    pool: poolRef('Pool'),
    auth: listenerAuth(),
    // Issue 22: MPPE-128 stateless is what Windows does; stateful (RC4 kept across packets) only for clients that insist.
    mppe: str('Encryption (MPPE-128)', { enum: ['stateless', 'stateful-allowed', 'optional'], optional: true, help: 'stateless: required, stateless (Windows); stateful-allowed: required, stateful accepted for old clients that ask for it; optional: calls without encryption are accepted too (insecure). Stateless when empty' }),
    legacyAuth: bool('Allow MS-CHAPv1, CHAP-MD5 and PAP (insecure)', false, { optional: true, help: 'For devices that cannot do MS-CHAPv2. MS-CHAPv1 keys MPPE but can be cracked offline and does not prove the gateway knows the password; CHAP-MD5 and PAP give MPPE no keys, so their calls are unencrypted: needs encryption optional. Checked by the local users or by RADIUS (MS-CHAP-Response, CHAP-Password, User-Password), as the listener\'s auth says' }),
  }),
});

const site = obj('Site-to-site peer', {
  name: str('Name', { format: 'name' }),
  protocol: str('Protocol', { enum: ['ikev2', 'ikev1', 'sstp', 'l2tp', 'pptp', 'gre'], default: 'ikev2', help: 'ikev1: for peers that speak only IKEv1 (Main Mode, tunnel mode); gre: a GRE interface (plain, or protected by IPsec with gre.ipsec); l2tp: L2TP/IPsec to another gateway (PSK, user and password); pptp: legacy PPTP to another gateway (user and password; insecure)' }),
  remote: str('Remote gateway', { format: 'host' }),
  port: int('Port (SSTP)', 1, 65535, { optional: true, help: '443 when empty' }),
  localSubnets: list('Local subnets', str('Subnet', { format: 'cidr4' }), 32),
  remoteSubnets: list('Remote subnets', str('Subnet', { format: 'cidr', help: 'IPv6 networks too on GRE sites' }), 32),
  auth: str('Authentication', { enum: ['psk', 'certificate'], default: 'psk' }),
  psk: str('Pre-shared key', { secret: true, optional: true, minLength: 16 }),
  username: str('User name (SSTP)', { format: 'name', optional: true, help: 'The account this site dials in as; on the answering side, the local user it must authenticate as' }),
  password: str('Password (SSTP)', { secret: true, optional: true, minLength: 8 }),
  serverFingerprint: str('Server certificate SHA-256 (SSTP)', { format: 'fingerprint', optional: true, help: "Pins the remote gateway's certificate; without it the certificate must chain to a trusted CA" }),
  proposals: obj('Proposals (IKEv1)', {
    ike: proposals('IKE (phase 1)', 'aes256-sha256-modp2048'),
    esp: proposals('ESP (phase 2)', 'aes256-sha256'),
  }, { optional: true, help: 'An IKEv1 site\'s own proposals; strong defaults when empty' }),
  aggressive: bool('Aggressive Mode (IKEv1, insecure)', false, { optional: true, help: 'For peers that accept only Aggressive Mode: it sends the PSK hash in the clear, where it can be cracked offline' }),
  pfs: str('Perfect forward secrecy (IKEv2)', { enum: ['auto', 'on', 'off'], optional: true, help: 'auto (when empty): each child rekey offers a fresh Diffie-Hellman and lets the peer decide; on: required; off: never' }),
  localId: str('Local ID (IKE)', { optional: true, minLength: 1, maxLength: 253, help: "The identity this gateway sends: an address, a DNS name or user@name; the WAN address (or the certificate's name) when empty" }),
  remoteId: str('Remote ID (IKE)', { optional: true, minLength: 1, maxLength: 253, help: "The identity the peer must send; its address when empty. Needed for peers behind one NAT or on dynamic addresses" }),
  // Issue 25: each GRE site is its own point-to-point interface gre-<site>, for routing daemons and static routes.
  gre: obj('GRE tunnel', {
    address: str('Tunnel address', { format: 'address4', help: 'This end of the point-to-point link with its prefix length, e.g. 10.255.0.1/30' }),
    peerAddress: str('Peer tunnel address', { format: 'ipv4', optional: true, help: 'The other host of a /30 or /31 when empty' }),
    address6: str('Tunnel IPv6 address', { format: 'address6', optional: true, help: 'IPv6 inside the tunnel too: this end with its prefix length, e.g. fd00:255::1/64 (the interface has a link-local address as well, for OSPFv3)' }),
    mtu: int('MTU', 576, 9000, { optional: true, help: '1476 when empty (1472 with a key): 1500 less the outer IPv4 and GRE headers' }),
    key: int('Key', 0, 4294967295, { optional: true, help: 'RFC 2890: both ends send and require the same key; no key when empty' }),
    checksum: bool('Checksums', false, { optional: true, help: 'RFC 2784: sent, and required on what arrives (a bad one is dropped and counted); a received checksum is always checked' }),
    sequence: bool('Sequence numbers', false, { optional: true, help: 'RFC 2890: sent, and required on what arrives; duplicates and late packets are dropped and counted' }),
    keepaliveSeconds: int('Keepalive interval (seconds)', 0, 3600, { optional: true, help: '10 when empty; 0: no keepalives (the site counts as up)' }),
    keepaliveRetries: int('Keepalive retries', 1, 255, { optional: true, help: '3 when empty: unanswered probes before the site is down' }),
    ipsec: bool('Protect with IPsec', false, { optional: true, help: "An IKEv2 transport-mode SA between the two WAN addresses for GRE (protocol 47) only, keyed with the site's authentication (PSK or certificate) and IDs; the side that initiates dials it. While it is down no GRE leaves or is taken in plain text" }),
  }, { optional: true, help: 'GRE sites only' }),
  initiate: bool('Initiate', true),
  enabled: bool('Enabled', true),
});

const certificates = obj('Certificates', {
  ca: obj('Certificate authority', {
    commonName: str('Common name', { default: 'Postern CA', minLength: 1, maxLength: 64 }),
    validityDays: int('Validity (days)', 30, 7300, { default: 3650 }),
  }),
  server: obj('Gateway certificate', {
    commonName: str('Common name', { default: 'postern', minLength: 1, maxLength: 64 }),
    sans: list('Names and addresses', str('Name', { format: 'host' }), 16),
  }),
  // Windows checks the CRL of the gateway's certificate before SSTP connects (issue 16): the URLs go
  // into every certificate issued, so they name the gateway's public name and plain HTTP.
  publication: obj('CRL and CA publication', {
    enabled: bool('Enabled', true, { optional: true, help: 'Serve the CRL and the CA certificate over plain HTTP and name them in issued certificates' }),
    host: str('Public name', { format: 'host', optional: true, help: "The name clients reach the gateway by; the gateway certificate's first DNS name when empty" }),
    port: int('Port', 1, 65535, { optional: true, help: '80 when empty' }),
    listen: str('Listen address', { format: 'ip', optional: true, help: "0.0.0.0 (every IPv4 address) when empty; '::' for every IPv6 and IPv4 address" }),
  }, { optional: true }),
  // Issue 16: peers' certificates checked for revocation, per trusted CA. Postern's own CA answers from
  // its own revocation list (no HTTP); other CAs by OCSP or the CRL their certificates name.
  revocation: str("Revocation check of certificates from Postern's CA", { enum: ['off', 'soft', 'hard'], optional: true, help: 'hard (when empty): a revoked certificate is refused; checked against the CA\'s own list, nothing fetched' }),
  trusted: list('Other trusted CAs', obj('Trusted CA', {
    name: str('Name', { format: 'name' }),
    certificate: str('CA certificate (PEM)', { minLength: 64, maxLength: 16_384 }),
    revocation: str('Revocation check', { enum: ['off', 'soft', 'hard'], optional: true, help: 'By OCSP or the CRL the certificate names. soft (when empty): refused when revoked, accepted when no answer; hard: refused without an answer too; off: not checked' }),
  }), 16, { optional: true, uniqueNames: true, help: 'CAs whose certificates IKEv2 peers and SSTP gateways may present besides those of Postern\'s CA' }),
  // Issue 16: a public certificate for the gateway's name, so clients need no CA import.
  acme: obj('Public certificate (ACME)', {
    enabled: bool('Enabled', false, { help: "Obtain the gateway certificate from an ACME CA for the gateway's names and renew it 30 days before it expires" }),
    directoryUrl: str('Directory URL', { format: 'httpsUrl', default: 'https://acme-v02.api.letsencrypt.org/directory' }),
    email: str('Contact e-mail', { optional: true, maxLength: 254 }),
    challenge: str('Challenge', { enum: ['http-01', 'tls-alpn-01'], default: 'http-01', help: 'http-01: answered on the publication listener (port 80); tls-alpn-01: on the SSTP port' }),
  }, { optional: true }),
});

const telemetry = obj('Telemetry', {
  mqtt: obj('MQTT', {
    enabled: bool('Enabled', false),
    url: str('Broker URL', { format: 'url', default: 'mqtts://broker.invalid:8883' }),
    username: str('Username', { optional: true, maxLength: 128 }),
    password: str('Password', { secret: true, optional: true }),
    clientCertificate: str('Client certificate', { optional: true, help: 'The name of an issued certificate' }),
    prefix: str('Topic prefix', { default: 'postern', minLength: 1, maxLength: 64 }),
    deviceId: str('Device ID', { format: 'name', default: 'postern' }),
    intervalSeconds: int('Status interval (seconds)', 5, 3600, { default: 60 }),
    commandsEnabled: bool('Accept commands', false),
    // The fleet console may name a bundle URL to fetch and apply (issue 18): a second switch, off by default.
    // Issue 26: the broker found by DNS SRV under a domain (docs/fleet.md); the URL above is then not used.
    discovery: obj('Broker discovery (DNS SRV)', {
      domain: str('Domain', { format: 'host', optional: true, help: '_secure-mqtt._tcp.<domain> is looked up; dhcp: the domain the WAN\'s DHCP gave' }),
      // Issue 26: a site-specific DHCP option (224-254) naming the broker, from the DHCP client's lease; asked before DNS SRV.
      dhcpLease: obj('Broker from a DHCP option', {
        file: str('Lease file', { minLength: 1, maxLength: 256 }),
        format: str('Lease file format', { enum: ['dhclient', 'networkd'] }),
        option: int('Option code', 224, 254, { optional: true, help: '224 when empty' }),
      }, { optional: true }),
      plain: bool('Also unencrypted (_mqtt._tcp)', false, { optional: true, help: 'Insecure: only for a lab; tried after every TLS broker' }),
    }, { optional: true, help: 'Off unless set: the broker URL above is used' }),
    upgradeCommand: bool('Accept firmware upgrades by command', false, { optional: true, help: 'fetch-upgrade: the console names a signed bundle URL; the signature is still checked' }),
    // Issue 26: desired configuration signed by the fleet operator (docs/fleet.md).
    fleet: obj('Fleet configuration', {
      enabled: bool('Take signed configuration from the fleet console', false),
      operatorKeys: list('Operator public keys', str('Ed25519 public key', { minLength: 40, maxLength: 400, help: 'base64 of the 32 raw bytes, or a PEM' }), 4),
      groups: list('Groups', str('Group', { format: 'name' }), 16, { help: 'The box also takes the documents published for these groups' }),
      confirmSeconds: int('Broker confirmation (seconds)', 5, 3600, { default: 120, help: 'A change to the WAN or the MQTT settings is undone unless the box reaches its broker again within this' }),
      onLocalChange: str('On a local change', { enum: ['keep', 'desired-wins'], optional: true, help: 'keep (when empty): a technician\'s change stays and is reported as drift; desired-wins: the box applies the desired configuration again. The desired document\'s value decides' }),
    }, { optional: true, help: 'Off unless set' }),
  }),
});

// Issue 21: RADIUS servers, asked in the order listed; the shared secret is never shown.
const radius = obj('RADIUS', {
  nasIdentifier: str('NAS-Identifier', { optional: true, maxLength: 253, help: 'What RADIUS policies match this gateway by; the hostname when empty' }),
  nasIpAddress: str('NAS-IP-Address', { format: 'ipv4', optional: true, help: 'Sent beside the NAS-Identifier, for policies that match the NAS by address (NPS: "NAS IPv4 Address"); not sent when empty' }),
  interimSeconds: int('Interim accounting (seconds)', 60, 86400, { optional: true, help: 'Interim-Update per session this often when the server sends no Acct-Interim-Interval; off when empty' }),
  interimMinimumSeconds: int('Shortest interim interval (seconds)', 1, 3600, { optional: true, help: 'The floor on the server\'s Acct-Interim-Interval (RFC 2869: 60); lower only for tests' }),
  servers: list('Servers', obj('Server', {
    name: str('Name', { format: 'name' }),
    address: str('Address', { format: 'ipv4' }),
    authPort: int('Authentication port', 1, 65535, { default: 1812 }),
    acctPort: int('Accounting port', 1, 65535, { default: 1813 }),
    secret: str('Shared secret', { secret: true, optional: true, minLength: 8, maxLength: 128, help: 'At least 16 random characters; the same as in the server\'s client entry. Not used with RadSec' }),
    // RFC 6614: RADIUS over TLS, for a server across the Internet.
    radsec: obj('RadSec (RADIUS over TLS)', {
      port: int('TLS port', 1, 65535, { optional: true, help: '2083 when empty' }),
      ca: str('Server CA certificate (PEM)', { minLength: 64, maxLength: 16_384, help: 'The server\'s certificate must chain to it and name the server' }),
      serverName: str('Server name', { format: 'host', optional: true, help: 'The name its certificate must carry; the address when empty' }),
      clientCertificate: str('Client certificate (PEM)', { optional: true, maxLength: 16_384, help: 'Imported; one from Postern\'s CA (named after the NAS-Identifier) when empty' }),
      clientKey: str('Client key (PEM)', { secret: true, optional: true, maxLength: 16_384 }),
    }, { optional: true }),
    // RFC 5080 §2.2.1's IRT and retransmission count, per server: a dead first server costs each login
    // timeout × (2^(retries+1) − 1), 14 s with the defaults, 3 s with 1 s and 1 retry.
    timeoutSeconds: int('Answer timeout (seconds)', 1, 10, { optional: true, help: 'How long to wait for this server before asking again (the wait doubles each time); 2 when empty' }),
    retries: int('Retries', 0, 5, { optional: true, help: 'Requests sent again before the next server is asked; 2 when empty. With 1 s and 1 retry a dead server costs a login about 3 s' }),
  }), 8, { uniqueNames: true, help: 'Asked in this order; a server that stops answering is skipped until it answers Status-Server again' }),
  // RFC 5176: Disconnect-Request and CoA-Request from these clients only.
  dynamicAuthorization: obj('Dynamic authorization (CoA, Disconnect)', {
    enabled: bool('Accept Disconnect and CoA requests', false),
    listen: str('Listen address', { format: 'ipv4', optional: true, help: 'The LAN address when empty; never the WAN unless the RADIUS server is out there' }),
    port: int('Port', 1, 65535, { default: 3799 }),
    clients: list('Clients', obj('Client', {
      name: str('Name', { format: 'name' }),
      address: str('Address', { format: 'ipv4', help: 'Requests from any other address are dropped' }),
      secret: str('Shared secret', { secret: true, minLength: 8, maxLength: 128 }),
    }), 16, { uniqueNames: true, help: 'The RADIUS servers (or tools) allowed to end sessions and change their limits' }),
  }, { optional: true }),
}, { optional: true });

export const configSchema: ObjectField = obj('Configuration', {
  version: int('Format version', 1, 1000, { default: CURRENT_VERSION }),
  system,
  admin,
  users: list('Users', user, 10_000, { uniqueNames: true }),
  pools: list('Address pools', pool, 64, { uniqueNames: true }),
  listeners,
  sites: list('Site-to-site peers', site, 256, { uniqueNames: true }),
  certificates,
  telemetry,
  radius,
});
