import { CAUSES, type CauseCode, type ClientMessage, type ProblemStage } from './causes.ts';

/**
 * Events the service already sees, turned into connection problems (sans-I/O: no clock, no state).
 * IKEv2 failures are read from the engine's `warn` log actions, which carry the source address and
 * identity; an `info` close is an established SA going down, not a failed attempt. Each failure is
 * reported by exactly one line here: a refusal logs its own line, and its following "IKE SA closed"
 * line repeats it, so closes are only taken for reasons no refusal line covers.
 */

export type DoctorEvent =
  | { readonly kind: 'ike-log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: Readonly<Record<string, unknown>> }
  /** A PPP login refused (SSTP, L2TP, PPTP); `peer` is the client's address and port. */
  | { readonly kind: 'ppp-auth-failure'; readonly protocol: 'sstp' | 'l2tp' | 'pptp'; readonly user?: string | undefined; readonly peer: string }
  /** A PPP session that ended before its network came up, not for its login (`heard`: a frame ever came from the client). */
  | { readonly kind: 'ppp-setup-failure'; readonly protocol: 'sstp' | 'l2tp' | 'pptp'; readonly stage: 'ppp-lcp' | 'ppp-ncp'; readonly reason: string; readonly heard: boolean; readonly user?: string | undefined; readonly peer: string }
  /** An SSTP call aborted after TLS and before it was established, or refused at the calls limit. */
  | { readonly kind: 'sstp-call-failed'; readonly reason: string; readonly peer: string }
  /** An L2TP tunnel that never came up, or plain L2TP where IPsec is required; `address` is the client's. */
  | { readonly kind: 'l2tp-tunnel-failure'; readonly reason: string; readonly address: string }
  /** An SSTP client that completed TLS and closed the connection without a byte of its request. */
  | { readonly kind: 'sstp-closed-after-tls'; readonly peer: string };

/** A problem without its time and number, which the recorder adds. */
export interface ProblemFacts {
  readonly protocol: 'ikev2' | 'ikev1' | 'sstp' | 'l2tp' | 'pptp';
  readonly stage: ProblemStage;
  readonly cause: CauseCode;
  /** The gateway's own words (the log line). */
  readonly detail: string;
  readonly explanation: string;
  readonly client: ClientMessage;
  readonly fix: string;
  readonly user?: string;
  readonly site?: string;
  /** The peer's identity when it is not a user name (an address, a certificate subject). */
  readonly peer?: string;
  /** The source address (without port). */
  readonly source?: string;
}

type Rule = readonly [RegExp, CauseCode];

/** After "IKE_SA_INIT refused: ". */
const INIT_RULES: readonly Rule[] = [
  [/^no acceptable IKE proposal|^group \d+ not implemented/, 'ike-proposal-mismatch'],
];

/** After "IKE_AUTH refused: ". */
const AUTH_RULES: readonly Rule[] = [
  [/shared key mismatch/, 'psk-mismatch'],
  [/not signed by a trusted CA/, 'untrusted-certificate'],
  [/is not valid now/, 'certificate-expired'],
  [/does not name the ID/, 'certificate-identity-mismatch'],
  [/revok/i, 'certificate-revoked'],
  [/^no connection for peer ID/, 'unknown-identity'],
  [/asked for EAP|must use EAP/, 'auth-method-mismatch'],
  [/AUTH after EAP does not match/, 'eap-failed'],
  [/certificate|signature/i, 'bad-certificate'],
];

/** After "EAP refused: ". */
const EAP_RULES: readonly Rule[] = [
  [/^MS-CHAPv2 authentication of '.*' failed$/, 'wrong-password'],
  [/refused EAP-MSCHAPv2|^EAP type \d+ where/, 'eap-method-refused'],
  [/./, 'eap-failed'],
];

/** After "child SA refused: ". */
const CHILD_RULES: readonly Rule[] = [
  [/^NO_PROPOSAL_CHOSEN/, 'child-proposal-mismatch'],
  [/^TS_UNACCEPTABLE/, 'traffic-selector-mismatch'],
  [/^INTERNAL_ADDRESS_FAILURE|^FAILED_CP_REQUIRED/, 'no-address'],
  [/./, 'child-refused'],
];

/** After "IKE SA closed: ", only reasons that no refusal line has reported. */
const CLOSE_RULES: readonly Rule[] = [
  [/^half-open SA timed out waiting for the EAP client/, 'eap-timeout'],
  [/^half-open SA timed out/, 'auth-timeout'],
  [/^no answer to IKE_SA_INIT/, 'no-answer'],
  [/^no answer to/, 'auth-timeout'],
  [/^the peer refused IKE_AUTH/, 'peer-refused'],
  [/^the peer answered NO_PROPOSAL_CHOSEN|^the peer asked for DH group|^DH group \d+ is not implemented|^the peer chose a proposal/, 'ike-proposal-mismatch'],
  [/^the peer '.*' failed authentication: shared key mismatch/, 'psk-mismatch'],
  [/^the peer identified as|^the peer '.*' failed authentication/, 'peer-failed-authentication'],
  [/^EAP failed: MS-CHAPv2 failure/, 'peer-refused'],
  [/^EAP failed|^the peer's AUTH after EAP|^the peer ended EAP/, 'eap-failed'],
  [/^the peer answered/, 'peer-refused'],
];

/** IKEv1 (issue 19), after "Main Mode from <address> refused with NO-PROPOSAL-CHOSEN: " (or Aggressive Mode). */
const IKEV1_REFUSAL_RULES: readonly Rule[] = [
  [/^none of the offered transforms is acceptable/, 'ike-proposal-mismatch'],
  [/^Aggressive Mode is not enabled for/, 'aggressive-mode-disabled'],
  [/^no connection accepts this address/, 'unknown-peer-address'],
];

/**
 * IKEv1 Quick Mode (issue 19), after "Quick Mode <id> with <address> failed: " (our refusal as
 * responder, or a QM2 we could not take), "refused by the peer: " (its notify) or "abandoned: ".
 */
const QUICK_MODE_RULES: readonly Rule[] = [
  [/^no acceptable ESP proposal|^the PFS KE is missing|^the responder chose (?:an ESP transform we did not offer|another encapsulation mode)|^NO-PROPOSAL-CHOSEN/, 'child-proposal-mismatch'],
  [/^the peer asked for .* carries only protocol/, 'l2tp-selector-mismatch'],
  [/^selectors .* are outside|^INVALID-ID-INFORMATION/, 'traffic-selector-mismatch'],
];
/** Not a failed negotiation: a corrupt or replayed message, dropped and waited past. */
const QUICK_MODE_NOISE = /^HASH\(\d\) does not match|^unexpected in state|^message ID 0/;

const pick = (rules: readonly Rule[], text: string): CauseCode | undefined => rules.find(([re]) => re.test(text))?.[1];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** "192.0.2.1:4500" or "[2001:db8::1]:500" → the address. */
export function addressOf(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  const v6 = /^\[(.+)\]:\d+$/.exec(endpoint);
  if (v6) return v6[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(endpoint);
  return v4 ? v4[1] : endpoint;
}

function facts(protocol: ProblemFacts['protocol'], cause: CauseCode, detail: string, who: { user?: string | undefined; site?: string | undefined; peer?: string | undefined; source?: string | undefined }, stage?: ProblemStage): ProblemFacts {
  const info = CAUSES[cause];
  return {
    protocol, stage: stage ?? info.stage, cause, detail, explanation: info.explanation, client: info.client, fix: info.fix,
    ...(who.user ? { user: who.user } : {}), ...(who.site ? { site: who.site } : {}), ...(who.peer ? { peer: who.peer } : {}), ...(who.source ? { source: who.source } : {}),
  };
}

/** Who the line is about: a site by its connection, a user by the EAP identity or peer ID. */
function whoOf(msg: string, fields: Readonly<Record<string, unknown>>): { user?: string | undefined; site?: string | undefined; peer?: string | undefined; source?: string | undefined } {
  const connection = str(fields.connection) ?? /\(connection (site:[^)\s]+)\)/.exec(msg)?.[1];
  const site = connection?.startsWith('site:') ? connection.slice(5) : undefined;
  const peerId = str(fields.peerId) ?? /(?:for peer|peer) '([^']+)'/.exec(msg)?.[1];
  const user = str(fields.user) ?? (site ? undefined : peerId);
  return { user, site, peer: site ? peerId : undefined, source: addressOf(str(fields.remote) ?? str(fields.from)) };
}

/**
 * The IKEv1 engine's phase 1 failures: a responder's refusal of message 1 ("Main Mode from <address>
 * refused …"), or "<connection> with <address>: <why>" for an SA that failed. A PSK mismatch in Main
 * Mode is reported at the first message that does not decrypt, not again when the SA gives up.
 */
function classifyIkev1(msg: string): ProblemFacts | undefined {
  const refused = /^(?:Main|Aggressive) Mode from (\S+) refused with NO-PROPOSAL-CHOSEN: (.*)$/s.exec(msg);
  if (refused) {
    const [, source, why = ''] = refused;
    const peer = /^Aggressive Mode is not enabled for (\S+)/.exec(why)?.[1];
    return facts('ikev1', pick(IKEV1_REFUSAL_RULES, why) ?? 'ike-malformed', msg, { source, peer });
  }
  const failed = /^(\S+) with (\S+): (.*)$/s.exec(msg);
  if (!failed) return undefined;
  const [, connection = '', source, why = ''] = failed;
  const certificate = /^certificate refused: (.*)$/s.exec(why);
  const id = /^the peer's ID (.+) is not the expected /s.exec(why);
  const cause: CauseCode | undefined = /did not decrypt \d+ times/.test(why) ? undefined
    : /the pre-shared keys differ/.test(why) ? 'psk-mismatch'
    : certificate ? pick(AUTH_RULES, certificate[1] ?? '') ?? 'bad-certificate'
    : id ? 'peer-id-mismatch' : undefined;
  const site = connection.startsWith('site:') ? connection.slice(5) : undefined;
  return cause && facts('ikev1', cause, msg, { site, source, peer: id?.[1] }, cause === 'psk-mismatch' || certificate ? 'ike-auth' : undefined);
}

function classifyQuickMode(msg: string): ProblemFacts | undefined {
  const m = /^Quick Mode [0-9a-f]+ with (\S+) (?:failed|refused by the peer|abandoned): (.*?)(?: \(connection ([^()\s]+)\))?$/s.exec(msg);
  if (!m) return undefined;
  const [, source, why = '', connection] = m;
  if (QUICK_MODE_NOISE.test(why)) return undefined;
  const site = connection?.startsWith('site:') ? connection.slice(5) : undefined;
  return facts('ikev1', pick(QUICK_MODE_RULES, why) ?? 'child-refused', msg, { site, source });
}

/** The problem an event reports, or undefined when it reports none. */
export function classify(event: DoctorEvent): ProblemFacts | undefined {
  if (event.kind === 'ppp-auth-failure') {
    return facts(event.protocol, `${event.protocol}-wrong-password`, `PPP authentication of '${event.user ?? '(no name)'}' failed`, { user: event.user, source: addressOf(event.peer) });
  }
  if (event.kind === 'ppp-setup-failure') {
    // PPTP's PPP rides GRE, which firewalls and NATs drop apart from the TCP control connection.
    const cause = /^MPPE required/.test(event.reason) ? 'ppp-encryption-refused'
      : event.stage === 'ppp-ncp' ? 'ppp-network-failed' : event.protocol === 'pptp' && !event.heard ? 'pptp-gre-blocked' : 'ppp-negotiation-failed';
    return facts(event.protocol, cause, `PPP session ended before its network came up: ${event.reason}`, { user: event.user, source: addressOf(event.peer) });
  }
  if (event.kind === 'sstp-call-failed') {
    const cause = /Cert Hash|Compound MAC|nonce|Crypto Binding|Hash Protocol/.test(event.reason) ? 'sstp-crypto-binding' : /calls limit/.test(event.reason) ? 'sstp-calls-limit' : 'sstp-call-failed';
    return facts('sstp', cause, `SSTP call failed: ${event.reason}`, { source: addressOf(event.peer) });
  }
  if (event.kind === 'l2tp-tunnel-failure') {
    return facts('l2tp', /outside IPsec/.test(event.reason) ? 'l2tp-without-ipsec' : 'l2tp-tunnel-failed', `L2TP tunnel refused or never up: ${event.reason}`, { source: event.address });
  }
  if (event.kind === 'sstp-closed-after-tls') {
    return facts('sstp', 'sstp-certificate-refused', 'the client closed the connection after the TLS handshake, before its SSTP request', { source: addressOf(event.peer) });
  }
  if (event.level !== 'warn') return undefined;
  const fields = event.fields ?? {};
  const who = whoOf(event.msg, fields);
  const m = /^(IKE_SA_INIT refused|IKE_AUTH refused|EAP refused|child SA refused|IKE SA closed): (.*)$/s.exec(event.msg);
  if (!m) {
    const ikev1 = classifyQuickMode(event.msg) ?? classifyIkev1(event.msg);
    if (ikev1) return ikev1;
    if (/^IKEv1 request from .* refused/.test(event.msg)) return facts('ikev2', 'ikev1-client', event.msg, who);
    return undefined;
  }
  const [, kind, rest = ''] = m;
  switch (kind) {
    case 'IKE_SA_INIT refused':
      // INVALID_KE_PAYLOAD is RFC 7296 §1.2's normal retry with another group, not a failure.
      return /^KE for group/.test(rest) ? undefined : facts('ikev2', pick(INIT_RULES, rest) ?? 'ike-malformed', event.msg, who);
    case 'IKE_AUTH refused':
      return facts('ikev2', pick(AUTH_RULES, rest) ?? 'other', event.msg, who, 'ike-auth');
    case 'EAP refused':
      return facts('ikev2', pick(EAP_RULES, rest) ?? 'eap-failed', event.msg, who);
    case 'child SA refused':
      return facts('ikev2', pick(CHILD_RULES, rest) ?? 'child-refused', event.msg, who);
    default: {
      const cause = pick(CLOSE_RULES, rest);
      return cause ? facts('ikev2', cause, event.msg, who) : undefined;
    }
  }
}
