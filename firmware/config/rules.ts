import { parseIp, parsePrefix } from '../util/ip.ts';
import { ntHashHex } from '../crypto/user-credential.ts';
import { dynamicDnsErrors } from './dynamic-dns-rules.ts';
import { fleetErrors } from '../fleet/fleet-rules.ts';
import { networkOverlapErrors } from './network-rules.ts';
import { publicIdentityErrors } from './public-identity.ts';
import { trustedCaErrors } from './trusted-ca-rules.ts';
import type { ConfigIssue, ListenerName, PosternConfig, UserConfig } from './types.ts';

/** Rules that span fields; run only on a document whose every field is well-formed. */

function range(prefix: string): [bigint, bigint] | undefined {
  const p = parsePrefix(prefix);
  if (!p) return undefined;
  const bits = BigInt(p.bytes.length * 8);
  const value = BigInt(`0x${p.bytes.toString('hex')}`);
  const size = 1n << (bits - BigInt(p.length));
  const start = value - (value % size);
  return [start, start + size - 1n];
}

const contains = (prefix: string, address: string): boolean => {
  const r = range(prefix);
  const a = parseIp(address);
  if (!r || !a) return false;
  const v = BigInt(`0x${a.bytes.toString('hex')}`);
  return (parsePrefix(prefix)?.family ?? 0) === a.family && v >= r[0] && v <= r[1];
};

const overlaps = (a: string, b: string): boolean => {
  const ra = range(a);
  const rb = range(b);
  return !!ra && !!rb && (parsePrefix(a)?.family === parsePrefix(b)?.family) && ra[0] <= rb[1] && rb[0] <= ra[1];
};

/** 'network' or 'broadcast' when the address is that of an IPv4 prefix of /30 or wider (a /31 or /32 uses all). */
function edgeOf(prefix: string, address: string): 'network' | 'broadcast' | undefined {
  const r = range(prefix);
  const a = parseIp(address);
  if (!r || !a || a.family !== 4 || r[1] - r[0] < 3n) return undefined;
  const v = BigInt(`0x${a.bytes.toString('hex')}`);
  return v === r[0] ? 'network' : v === r[1] ? 'broadcast' : undefined;
}

export function crossFieldErrors(config: PosternConfig): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const error = (path: string, code: string, message: string) => errors.push({ path, code, message });
  const poolNames = new Set(config.pools.map((p) => p.name));

  for (const name of Object.keys(config.listeners) as ListenerName[]) {
    const pool = config.listeners[name].pool;
    if (!poolNames.has(pool)) error(`listeners.${name}.pool`, 'reference', `no address pool named '${pool}'`);
  }
  config.pools.forEach((a, i) => {
    config.pools.forEach((b, j) => {
      if (j <= i) return;
      if (overlaps(a.ipv4, b.ipv4)) error(`pools[${j}].ipv4`, 'overlap', `overlaps pools[${i}] (${a.name})`);
      if (a.ipv6 && b.ipv6 && overlaps(a.ipv6, b.ipv6)) error(`pools[${j}].ipv6`, 'overlap', `overlaps pools[${i}] (${a.name})`);
    });
  });
  config.users.forEach((u, i) => userCredentialErrors(u, `users[${i}]`, error));
  const fixed = new Map<string, number>();
  config.users.forEach((u, i) => {
    if (u.staticIPv4 === undefined) return;
    const pool = config.pools.find((p) => contains(p.ipv4, u.staticIPv4 as string));
    if (!pool) error(`users[${i}].staticIPv4`, 'reference', 'is not inside any address pool');
    else {
      // The pool never hands out its network and broadcast addresses (address-pool.ts): the user could never connect.
      const edge = edgeOf(pool.ipv4, u.staticIPv4);
      if (edge) error(`users[${i}].staticIPv4`, 'reserved', `is the ${edge} address of pool '${pool.name}' (${pool.ipv4}), which is never given to a client`);
    }
    const other = fixed.get(u.staticIPv4);
    if (other !== undefined) error(`users[${i}].staticIPv4`, 'duplicate', `is already given to users[${other}]`);
    else fixed.set(u.staticIPv4, i);
  });
  const { ikev2, l2tp, sstp } = config.listeners;
  if (ikev2.enabled && ikev2.auth === 'psk' && !ikev2.psk) error('listeners.ikev2.psk', 'required', 'is required when IKEv2 clients authenticate with a PSK');
  if (ikev2.enabled && ikev2.proposals.ike.length === 0) error('listeners.ikev2.proposals.ike', 'required', 'needs at least one proposal');
  if (ikev2.enabled && ikev2.proposals.esp.length === 0) error('listeners.ikev2.proposals.esp', 'required', 'needs at least one proposal');
  // With certificates (listeners.l2tp.ipsec.auth) the IKEv1 SA uses no group key (issue 20).
  const l2tpPsk = (l2tp.ipsec?.auth ?? 'psk') === 'psk';
  if (l2tp.enabled && l2tpPsk && l2tp.psk.length < 8) error('listeners.l2tp.psk', 'required', 'needs a pre-shared key of at least 8 characters when L2TP is enabled');
  const mgmt = config.system.management;
  if (sstp.enabled && sstp.port === mgmt.port) error('listeners.sstp.port', 'conflict', `is also the management port (system.management.port)`);
  config.sites.forEach((s, i) => {
    // An answering L2TP site is keyed by the L2TP listener's PSK, not its own.
    const answeringL2tp = s.protocol === 'l2tp' && !s.initiate;
    if (s.auth === 'psk' && (s.protocol !== 'gre' || s.gre?.ipsec === true) && s.protocol !== 'sstp' && s.protocol !== 'pptp' && !answeringL2tp && !s.psk) error(`sites[${i}].psk`, 'required', 'is required with PSK authentication');
    if (s.protocol === 'sstp' || s.protocol === 'l2tp' || s.protocol === 'pptp') {
      const kind = s.protocol === 'sstp' ? 'SSTP' : s.protocol === 'l2tp' ? 'L2TP' : 'PPTP';
      if (!s.username) error(`sites[${i}].username`, 'required', `an ${kind} site needs the user name it dials in (or answers) as`);
      if (s.initiate && !s.password) error(`sites[${i}].password`, 'required', `is required to dial an ${kind} site`);
      if (!s.initiate && s.username && !config.users.some((u) => u.name === s.username)) error(`sites[${i}].username`, 'unknown', `no local user '${s.username}' for the answering ${kind} site`);
      if (s.remoteSubnets.length === 0) error(`sites[${i}].remoteSubnets`, 'required', `an ${kind} site needs the remote subnets to route through it`);
    }
    if (s.protocol === 'pptp' && !s.initiate && s.enabled && !config.listeners.pptp.enabled) error(`sites[${i}].initiate`, 'required', 'an answering PPTP site needs the PPTP listener (listeners.pptp.enabled)');
    if (answeringL2tp && s.enabled && !config.listeners.l2tp.enabled) error(`sites[${i}].initiate`, 'required', 'an answering L2TP site needs the L2TP listener (listeners.l2tp.enabled)');
    // Only a GRE site's interface routes IPv6 networks; the others' selectors and PPP routes are IPv4.
    if (s.protocol !== 'gre') s.remoteSubnets.forEach((n, j) => { if (n.includes(':')) error(`sites[${i}].remoteSubnets[${j}]`, 'format', `an IPv6 network is routed through GRE sites only; a ${s.protocol} site takes IPv4 networks`); });
    if ((s.protocol === 'ikev2' || s.protocol === 'ikev1') && (s.localSubnets.length === 0 || s.remoteSubnets.length === 0)) {
      error(`sites[${i}]`, 'required', `an ${s.protocol === 'ikev1' ? 'IKEv1' : 'IKEv2'} site needs local and remote subnets`);
    }
    if (s.proposals && s.protocol !== 'ikev1') error(`sites[${i}].proposals`, 'unsupported', 'only IKEv1 sites have proposals of their own');
    for (const key of ['localId', 'remoteId'] as const) {
      if (s[key] !== undefined && s.protocol !== 'ikev1' && s.protocol !== 'ikev2' && s.gre?.ipsec !== true) error(`sites[${i}].${key}`, 'unsupported', 'only IKE sites (IKEv2, IKEv1, GRE over IPsec) have identities');
    }
    if (s.aggressive && s.protocol !== 'ikev1') error(`sites[${i}].aggressive`, 'unsupported', 'only IKEv1 sites have Aggressive Mode');
    else if (s.aggressive && s.auth !== 'psk') error(`sites[${i}].aggressive`, 'unsupported', 'Aggressive Mode is implemented with a pre-shared key only');
  });
  ikeSitesSharingAnAddress(config, error);
  const mqtt = config.telemetry.mqtt;
  if (mqtt.discovery && mqtt.discovery.domain === undefined && mqtt.discovery.dhcpLease === undefined) error('telemetry.mqtt.discovery', 'required', 'names a domain, a DHCP lease, or both');
  if (mqtt.enabled && !mqtt.discovery && mqtt.url.includes('.invalid')) error('telemetry.mqtt.url', 'required', 'needs a real broker address when telemetry is enabled');
  // Issue 21: a listener asking RADIUS needs a server to ask.
  if ((config.listeners.sstp.auth ?? 'local') !== 'local' && !config.radius?.servers.length) error('listeners.sstp.auth', 'required', 'needs at least one server under radius.servers');
  if ((config.listeners.ikev2.userAuth ?? 'local') !== 'local' && !config.radius?.servers.length) error('listeners.ikev2.userAuth', 'required', 'needs at least one server under radius.servers');
  if ((config.listeners.l2tp.auth ?? 'local') !== 'local' && !config.radius?.servers.length) error('listeners.l2tp.auth', 'required', 'needs at least one server under radius.servers');
  if ((config.listeners.pptp.auth ?? 'local') !== 'local' && !config.radius?.servers.length) error('listeners.pptp.auth', 'required', 'needs at least one server under radius.servers');
  // With RADIUS, MS-CHAPv1 goes as MS-CHAP-Response, CHAP-MD5 as CHAP-Password + CHAP-Challenge and PAP as User-Password (auth/password-verifier.ts).
  if (config.listeners.pptp.legacyAuth && (config.listeners.pptp.mppe ?? 'stateless') !== 'optional') error('listeners.pptp.legacyAuth', 'conflict', 'CHAP-MD5 and PAP give MPPE no keys: set encryption (listeners.pptp.mppe) to optional first');
  // Passed-through EAP has no local fallback: the method may not be one Postern can check.
  config.radius?.servers.forEach((server, i) => {
    if (!server.radsec && server.secret === undefined) error(`radius.servers[${i}].secret`, 'required', 'is required unless the server is reached by RadSec');
    if (server.radsec && (server.radsec.clientCertificate === undefined) !== (server.radsec.clientKey === undefined)) error(`radius.servers[${i}].radsec.clientKey`, 'required', 'an imported client certificate needs its key, and a key its certificate');
  });
  if (config.listeners.ikev2.eapPassThrough && config.listeners.ikev2.userAuth !== 'radius') error('listeners.ikev2.eapPassThrough', 'conflict', "needs 'Passwords checked by' (userAuth) set to radius");
  errors.push(...networkOverlapErrors(config), ...publicIdentityErrors(config), ...trustedCaErrors(config), ...dynamicDnsErrors(config), ...fleetErrors(config));
  return errors;
}

/** A clear password is kept only for CHAP-MD5, and then must be the one the NT hash was made from. */
function userCredentialErrors(u: UserConfig, at: string, error: (path: string, code: string, message: string) => void): void {
  if (u.password === undefined) {
    if (u.chapMd5) error(`${at}.password`, 'required', 'a user allowed CHAP-MD5 needs the password kept in clear');
    return;
  }
  if (!u.chapMd5) return error(`${at}.password`, 'cleartext', 'is kept only for a user allowed CHAP-MD5; otherwise only its NT hash is stored (the API makes it from the password)');
  if (ntHashHex(u.password) !== u.ntHash.toLowerCase()) error(`${at}.ntHash`, 'mismatch', 'is not the NT hash of the password kept for CHAP-MD5');
}

const WEAK_WORDS: Record<string, string> = {
  modp1024: 'DH group 2 (modp1024) is weak; Windows uses it by default, prefer modp2048 or ECP',
  '3des': '3DES is obsolete',
  md5: 'MD5 is broken',
};

/** Choices that work but are insecure: reported at every validation, start and change. */
export function insecureChoices(config: PosternConfig): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const warn = (path: string, code: string, message: string) => warnings.push({ path, code, message });
  const { ikev2, l2tp, pptp } = config.listeners;
  if (pptp.enabled) warn('listeners.pptp.enabled', 'insecure', 'PPTP (MS-CHAPv2 + MPPE) can be broken offline; use IKEv2 or SSTP');
  if (pptp.enabled && pptp.mppe === 'optional') warn('listeners.pptp.mppe', 'insecure', 'PPTP calls without MPPE cross the network unencrypted');
  if (pptp.enabled && pptp.legacyAuth) warn('listeners.pptp.legacyAuth', 'insecure', 'PAP sends passwords in clear, CHAP-MD5 and MS-CHAPv1 can be cracked offline (MS-CHAPv1 does not authenticate the gateway); PAP and CHAP-MD5 calls are unencrypted');
  if (l2tp.enabled && (l2tp.ipsec?.auth ?? 'psk') === 'psk') warn('listeners.l2tp.psk', 'insecure', 'a group PSK lets anyone who has it impersonate the gateway');
  if (l2tp.enabled && l2tp.legacyAuth) warn('listeners.l2tp.legacyAuth', 'insecure', 'PAP sends passwords in clear (inside IPsec only if plain L2TP is off), CHAP-MD5 and MS-CHAPv1 can be cracked offline (MS-CHAPv1 does not authenticate the gateway)');
  if (l2tp.enabled && l2tp.allowPlain) warn('listeners.l2tp.allowPlain', 'insecure', 'plain L2TP is accepted outside IPsec: PPP, its authentication and the traffic cross the network unencrypted');
  if (ikev2.enabled && ikev2.auth === 'psk') warn('listeners.ikev2.auth', 'insecure', 'a group PSK for remote access lets anyone who has it impersonate the gateway');
  (['ike', 'esp'] as const).forEach((kind) =>
    ikev2.proposals[kind].forEach((proposal, i) => {
      for (const word of proposal.split('-')) {
        const why = WEAK_WORDS[word];
        if (why) warn(`listeners.ikev2.proposals.${kind}[${i}]`, 'weak', why);
      }
    }),
  );
  config.users.forEach((u, i) => {
    if (u.chapMd5) warn(`users[${i}].chapMd5`, 'insecure', `'${u.name}' keeps the password in clear for CHAP-MD5, and one captured CHAP-MD5 login can be brute-forced offline`);
  });
  const weakProposals = (list: readonly string[] | undefined, at: string) => list?.forEach((proposal, i) => {
    for (const word of proposal.split('-')) if (WEAK_WORDS[word]) warn(`${at}[${i}]`, 'weak', WEAK_WORDS[word]);
  });
  (['ike', 'esp'] as const).forEach((kind) => weakProposals(l2tp.ipsec?.proposals?.[kind], `listeners.l2tp.ipsec.proposals.${kind}`));
  config.sites.forEach((s, i) => {
    (['ike', 'esp'] as const).forEach((kind) => weakProposals(s.proposals?.[kind], `sites[${i}].proposals.${kind}`));
    if (s.protocol === 'pptp') warn(`sites[${i}].protocol`, 'insecure', 'PPTP site links can be broken offline');
    if (s.protocol === 'gre' && s.gre?.ipsec !== true) warn(`sites[${i}].protocol`, 'insecure', 'plain GRE is not encrypted');
    if (s.protocol === 'ikev1' && s.aggressive) warn(`sites[${i}].aggressive`, 'insecure', 'Aggressive Mode exposes the hash of the pre-shared key to offline cracking; use Main Mode (or IKEv2) unless the peer accepts nothing else');
  });
  if (config.telemetry.mqtt.enabled && /^(mqtt|ws):/.test(config.telemetry.mqtt.url)) {
    warn('telemetry.mqtt.url', 'insecure', 'telemetry without TLS');
  }
  return warnings;
}

/**
 * Enabled IKEv1 sites whose peers share one address (branches behind one NAT): Main Mode picks the site
 * by address and moves to the one expecting the identity the peer sends, so each needs its own remote
 * ID; and it derives its keys before it sees that identity, so PSK sites there must share one key.
 */
function ikeSitesSharingAnAddress(config: PosternConfig, error: (path: string, code: string, message: string) => void): void {
  const seen = new Map<string, number>();
  config.sites.forEach((s, i) => {
    // IKEv1 only: its responder picks the site at Main Mode's first message by address. (Two IKEv2
    // sites may share a peer, one per pair of networks; remote IDs tell them apart when given.)
    if (!s.enabled || s.protocol !== 'ikev1') return;
    const key = `${s.protocol} ${s.remote}`;
    const first = seen.get(key);
    if (first === undefined) return void seen.set(key, i);
    const other = config.sites[first]!;
    if (s.remoteId === undefined || other.remoteId === undefined || s.remoteId === other.remoteId) {
      error(`sites[${i}].remoteId`, 'conflict', `sites[${first}] has the same peer address ${s.remote}: give each a remote ID of its own to tell them apart`);
    } else if (s.protocol === 'ikev1' && s.auth === 'psk' && other.auth === 'psk' && s.psk !== other.psk) {
      error(`sites[${i}].psk`, 'conflict', `IKEv1 Main Mode derives its keys before it sees the peer's ID: sites behind one address (${s.remote}, like sites[${first}]) must share one pre-shared key`);
    }
  });
}
