/**
 * The connection doctor's catalogue (issue 17): every cause of a failed connection attempt that
 * Postern can recognise, told in a technician's words, with what the client itself shows and the fix.
 * Data only; `classify.ts` decides which cause an event is.
 */

export type ProblemStage = 'ike-init' | 'ike-auth' | 'eap' | 'child' | 'tls' | 'sstp-call' | 'l2tp-tunnel' | 'ppp-lcp' | 'ppp-auth' | 'ppp-ncp';

/** What the client's own screen or log says, per platform, where we know it. */
export interface ClientMessage {
  readonly windows?: string;
  readonly apple?: string;
  readonly android?: string;
}

export interface CauseInfo {
  readonly stage: ProblemStage;
  readonly explanation: string;
  readonly client: ClientMessage;
  readonly fix: string;
}

const WIN_13801 = 'Error 13801: IKE authentication credentials are unacceptable';
const WIN_13806 = 'Error 13806: IKE failed to find a valid machine certificate';
const WIN_13868 = 'Error 13868: Policy match error';
const WIN_809 = 'Error 809: The network connection between your computer and the VPN server could not be established because the remote server is not responding';
const WIN_806 = 'Error 806: A connection between your computer and the VPN server has been started, but the VPN connection cannot be completed. The most common cause for this is that at least one Internet device (for example, a firewall or a router) between your computer and the VPN server is not configured to allow Generic Routing Encapsulation (GRE) protocol packets';
const WIN_734 = 'Error 734: The PPP link control protocol was terminated';
const WIN_733 = 'Error 733: A connection to the remote computer could not be established because the PPP control protocol for this network protocol is not available on the server';
const WIN_742 = 'Error 742: The computer you are dialing in to does not support the data encryption requirements specified';
const WIN_691 = 'Error 691: The remote connection was denied because the user name and password combination you provided is not recognized';
const WIN_812 = 'Error 812: The connection was prevented because of a policy configured on your RAS/VPN server (the authentication method does not match)';
const APPLE_AUTH = 'User authentication failed';
const APPLE_NEGOTIATION = 'Negotiation with the VPN server failed';
const APPLE_NO_ANSWER = 'The VPN server did not respond';
const ANDROID_AUTH = 'strongSwan: Authentication failed';
const ANDROID_PROPOSAL = 'strongSwan: No proposal chosen (NO_PROPOSAL_CHOSEN)';
const ANDROID_TIMEOUT = 'strongSwan: Unable to connect to the server (timeout)';
// Windows' SSTP client checks the gateway certificate after the TLS handshake, then hangs up.
const WIN_SSTP_CERTIFICATE = 'Error 0x80092013: The revocation function was unable to check revocation because the revocation server was offline; or 0x800B0109 (the certificate chain ends in a root certificate which is not trusted); or 0x800B010F (the certificate\'s CN name does not match the passed value)';
const PPP_PASSWORD_FIX = 'Check the user name and password (both case sensitive) on the client, that the user exists and is enabled on the Users page; set a new password if needed.';

export const CAUSES = {
  'ike-proposal-mismatch': {
    stage: 'ike-init',
    explanation: 'The client offered only encryption or key-exchange settings the gateway does not accept, so the very first step failed.',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION, android: ANDROID_PROPOSAL },
    fix: 'Install the profile Postern generates for this client (it sets matching encryption), or add the offered algorithms to the IKE proposals. Windows added by hand offers weak DH group 2 by default: run the PowerShell profile or Set-VpnConnectionIPsecConfiguration.',
  },
  'ike-malformed': {
    stage: 'ike-init',
    explanation: 'The first IKE message from the client was incomplete or not understood, so the gateway refused it.',
    client: { windows: WIN_809, apple: APPLE_NEGOTIATION, android: ANDROID_TIMEOUT },
    fix: 'Update the client software; if many clients show this, something on the path (a firewall or NAT doing "IPsec helper") is rewriting the packets.',
  },
  'ikev1-client': {
    stage: 'ike-init',
    explanation: 'The client tried IKEv1 (an L2TP/IPsec or "Cisco IPsec" connection), which this gateway answers only while L2TP/IPsec or an IKEv1 site is enabled.',
    client: { windows: WIN_809, apple: APPLE_NO_ANSWER },
    fix: 'Set the connection type to IKEv2 on the client (or use SSTP), best by installing the profile Postern generates; or, if the client must use L2TP/IPsec, enable it under Settings, Listeners.',
  },
  // IKEv1 sites (issue 19): Main Mode finds the site by the peer's address, Aggressive Mode by its ID.
  'unknown-peer-address': {
    stage: 'ike-init',
    explanation: 'An IKEv1 peer connected from an address that no enabled IKEv1 site names as its remote gateway (Main Mode finds the site by the address the request comes from).',
    client: {},
    fix: 'Set the remote gateway of the IKEv1 site to the address shown here (the peer\'s public address, after any NAT), or enable the site.',
  },
  'aggressive-mode-disabled': {
    stage: 'ike-init',
    explanation: 'The peer asked for IKEv1 Aggressive Mode, which this gateway answers only for IKEv1 sites that enable it: Aggressive Mode exposes a hash of the pre-shared key to offline cracking.',
    client: {},
    fix: 'Set the peer to Main Mode if it can (strongSwan: aggressive=no; Cisco, MikroTik: exchange mode main). If it cannot, tick Aggressive Mode on the IKEv1 site whose remote gateway is the ID the peer sends, and use a long random pre-shared key.',
  },
  'peer-id-mismatch': {
    stage: 'ike-auth',
    explanation: 'The other site identified itself with another ID than the one this gateway expects for it (an IKEv1 site must send the address named as its remote gateway).',
    client: {},
    fix: 'Make the peer send its public address as its ID (strongSwan: leftid=<that address>; Cisco IOS: crypto isakmp identity address), or set the site\'s remote gateway to the address it sends.',
  },
  'no-answer': {
    stage: 'ike-init',
    explanation: 'The other end never answered: its address is wrong, it is down, or a firewall or NAT drops UDP 500/4500 on the way.',
    client: { windows: WIN_809, apple: APPLE_NO_ANSWER, android: ANDROID_TIMEOUT },
    fix: 'Check the peer address and that the peer is up; open (forward) UDP 500 and 4500 on every router in between, including the upstream router of this gateway.',
  },
  'auth-timeout': {
    stage: 'ike-auth',
    explanation: 'The client received the gateway\'s first answer but never sent its login. Usually the client refused the gateway\'s certificate (not trusted, wrong name, or the client has no certificate of its own), or a NAT/firewall blocks UDP 4500 or the large fragmented packets that carry certificates.',
    client: { windows: `${WIN_13801}; ${WIN_13806}; or ${WIN_809}`, apple: APPLE_NO_ANSWER, android: ANDROID_TIMEOUT },
    fix: 'Install the gateway\'s CA certificate on the client (Windows: Local Computer, Trusted Root Certification Authorities) and make the server address in the profile the name in the gateway certificate; open UDP 4500 and allow fragmented UDP on the routers in between.',
  },
  'psk-mismatch': {
    stage: 'ike-auth',
    explanation: 'The pre-shared key on the client (or the other site) is not the one set on this gateway.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Type the same pre-shared key on both ends (it is case sensitive; watch for spaces), or install a fresh profile.',
  },
  'untrusted-certificate': {
    stage: 'ike-auth',
    explanation: 'The client showed a certificate that was not issued by a certificate authority this gateway trusts.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Issue the client a certificate from this gateway (Certificates page) and install it, or import the CA that issued it as trusted.',
  },
  'certificate-expired': {
    stage: 'ike-auth',
    explanation: 'The client\'s certificate has expired or is not valid yet (check the clock on the client too).',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Issue a new certificate for the client and install it; make sure the client\'s date and time are right.',
  },
  'certificate-identity-mismatch': {
    stage: 'ike-auth',
    explanation: 'The client\'s certificate does not name the identity the client logged in with.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Use the profile Postern generates for this user, so the identity sent is the one in the certificate.',
  },
  'certificate-revoked': {
    stage: 'ike-auth',
    explanation: 'The client\'s certificate has been revoked, or its revocation status could not be checked.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'If the revocation was intended, nothing to do. Otherwise issue the user a new certificate; if the check failed, make sure the gateway can reach the CRL/OCSP server.',
  },
  'bad-certificate': {
    stage: 'ike-auth',
    explanation: 'The client\'s certificate or signature could not be checked.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Issue and install a fresh certificate for the client from this gateway.',
  },
  'unknown-identity': {
    stage: 'ike-auth',
    explanation: 'The client logged in with an identity that matches no user or site on this gateway.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Check the identity (local ID) set on the client, or add the user or site it names.',
  },
  'auth-method-mismatch': {
    stage: 'ike-auth',
    explanation: 'The client uses a different way to log in (user name and password, certificate, or shared key) from the one this gateway expects for it.',
    client: { windows: WIN_812, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Set the same authentication method on both ends; installing the profile Postern generates does this.',
  },
  'wrong-password': {
    stage: 'eap',
    explanation: 'The user name or the password is wrong, or the user does not exist or is disabled.',
    client: { windows: WIN_691, apple: APPLE_AUTH, android: 'strongSwan: EAP authentication failed' },
    fix: 'Check the user name and password (both case sensitive) on the client, that the user exists and is enabled on the Users page; set a new password if needed.',
  },
  'eap-method-refused': {
    stage: 'eap',
    explanation: 'The client refused EAP-MSCHAPv2, the password method this gateway uses.',
    client: { windows: WIN_812, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Choose "EAP-MSCHAPv2" (user name and password) on the client, or install the profile Postern generates.',
  },
  'eap-failed': {
    stage: 'eap',
    explanation: 'The password exchange with the client broke off or went out of order.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Try again; if it repeats, update the client software and install a fresh profile.',
  },
  'eap-timeout': {
    stage: 'eap',
    explanation: 'The client stopped during the password step. Usually it refused the gateway\'s certificate (not trusted, or the address dialled is not the name in it), or the user cancelled the password prompt.',
    client: { windows: WIN_13801, apple: APPLE_AUTH, android: ANDROID_AUTH },
    fix: 'Install the gateway\'s CA certificate on the client and dial the name in the gateway certificate (the profile does both).',
  },
  'peer-refused': {
    stage: 'ike-auth',
    explanation: 'The other site refused this gateway\'s login: its shared key, certificate or identity for us differs.',
    client: {},
    fix: 'Compare the shared key (or certificates) and both identities on the two ends of the site.',
  },
  'peer-failed-authentication': {
    stage: 'ike-auth',
    explanation: 'The other site answered, but its login to this gateway was wrong (another key, certificate or identity than configured here).',
    client: {},
    fix: 'Compare the shared key (or certificates) and both identities on the two ends of the site.',
  },
  'child-proposal-mismatch': {
    stage: 'child',
    explanation: 'Login worked, but the client and the gateway agree on no encryption for the traffic itself (ESP), so no traffic can flow.',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION, android: ANDROID_PROPOSAL },
    fix: 'Install the profile Postern generates, or add the client\'s ESP algorithms (and PFS group) to the connection\'s ESP proposals.',
  },
  'traffic-selector-mismatch': {
    stage: 'child',
    explanation: 'Login worked, but the networks the other end wants to reach do not match the networks set here.',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION, android: 'strongSwan: TS_UNACCEPTABLE' },
    fix: 'Make the local and remote networks of the site mirror each other on both ends.',
  },
  // IKEv1 L2TP/IPsec (issue 19): the responder keys UDP 1701 only.
  'l2tp-selector-mismatch': {
    stage: 'child',
    explanation: 'The client logged in, but asked IPsec to protect other traffic than L2TP (UDP port 1701), and L2TP/IPsec here carries nothing else.',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION },
    fix: 'Choose the L2TP/IPsec connection type on the client: it keys UDP 1701 by itself (a plain IPsec or "Cisco IPsec" connection is not L2TP). On a Linux client set the selectors to UDP 1701 (strongSwan: leftprotoport=17/1701 rightprotoport=17/1701, or %any for the client\'s port).',
  },
  'no-address': {
    stage: 'child',
    explanation: 'Login worked, but the gateway had no virtual address to give the client (the pool is full or missing).',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION, android: ANDROID_AUTH },
    fix: 'Enlarge the client address pool or end stale sessions.',
  },
  'child-refused': {
    stage: 'child',
    explanation: 'Login worked, but the tunnel for the traffic was refused.',
    client: { windows: WIN_13868, apple: APPLE_NEGOTIATION },
    fix: 'Compare the ESP proposals and networks on both ends; the detail names what was refused.',
  },
  'sstp-wrong-password': {
    stage: 'ppp-auth',
    explanation: 'The SSTP client\'s user name or password is wrong, or the user does not exist or is disabled.',
    client: { windows: WIN_691 },
    fix: PPP_PASSWORD_FIX,
  },
  'l2tp-wrong-password': {
    stage: 'ppp-auth',
    explanation: 'The L2TP/IPsec client\'s IPsec step passed (the shared key or certificate is right), but its user name or password is wrong, or the user does not exist or is disabled.',
    client: { windows: WIN_691, apple: APPLE_AUTH },
    fix: PPP_PASSWORD_FIX,
  },
  'pptp-wrong-password': {
    stage: 'ppp-auth',
    explanation: 'The PPTP client\'s user name or password is wrong, or the user does not exist or is disabled.',
    client: { windows: WIN_691 },
    fix: PPP_PASSWORD_FIX,
  },
  'sstp-crypto-binding': {
    stage: 'sstp-call',
    explanation: 'The SSTP client\'s crypto binding, which ties its PPP login to the TLS connection, did not match this gateway\'s: most often something between the client and the gateway terminated TLS with another certificate (a proxy or firewall inspecting HTTPS), so the client bound its login to that certificate. The call is refused so that a man in the middle cannot relay it.',
    client: {},
    fix: 'Exempt the gateway\'s name from HTTPS inspection on the client\'s network (proxy or firewall), or connect from another network; the detail says which part of the binding differed.',
  },
  'sstp-calls-limit': {
    stage: 'sstp-call',
    explanation: 'The gateway already carries as many SSTP calls as it allows (listeners.sstp.limits.calls), so this one was refused once its TLS handshake was done.',
    client: {},
    fix: 'Raise the SSTP calls limit if the box has the memory for it, or disconnect idle sessions on the Sessions page.',
  },
  'sstp-call-failed': {
    stage: 'sstp-call',
    explanation: 'The SSTP call failed after TLS and before it was set up: the client sent something out of turn or did not finish the call set-up in time.',
    client: {},
    fix: 'Read the detail (the gateway\'s own words) and the Logs page around this time; try the profile Postern generates.',
  },
  'l2tp-without-ipsec': {
    stage: 'l2tp-tunnel',
    explanation: 'An L2TP client dialled without IPsec, and this gateway takes L2TP only inside IPsec (its passwords would otherwise cross the network in the clear).',
    client: {},
    fix: 'Set the client to L2TP/IPsec with the pre-shared key or certificate (the profiles Postern generates do); plain L2TP (listeners.l2tp.allowPlain) only on a network you trust.',
  },
  'l2tp-tunnel-failed': {
    stage: 'l2tp-tunnel',
    explanation: 'The L2TP tunnel was started but never came up: the client stopped answering during the set-up, or the tunnel authentication (a shared tunnel secret) did not match.',
    client: {},
    fix: 'If a tunnel secret is set (listeners.l2tp tunnel secret), give the client the same one or clear it (Windows, macOS and iOS use none); otherwise read the detail and the Logs page.',
  },
  'pptp-gre-blocked': {
    stage: 'ppp-lcp',
    explanation: 'The PPTP control connection (TCP 1723) came up and the call was placed, but not one PPP frame arrived from the client over GRE (IP protocol 47): a firewall or router between the client and the gateway drops GRE, or a NAT on the way has no PPTP helper.',
    client: { windows: WIN_806 },
    fix: 'Let GRE (IP protocol 47) through beside TCP 1723 on the upstream router and the client\'s network ("PPTP passthrough"), or move the client to SSTP or IKEv2, which cross NATs and firewalls.',
  },
  'ppp-negotiation-failed': {
    stage: 'ppp-lcp',
    explanation: 'The client\'s PPP link ended before it logged in: LCP negotiation failed or timed out, or the client gave up (it may offer only authentication methods the listener does not allow, or frames are lost on the way).',
    client: { windows: WIN_734 },
    fix: 'Check the authentication methods the client offers against the listener\'s (MS-CHAPv2 or EAP; PAP and CHAP-MD5 only with the legacy option), and read the detail and the Logs page around this time.',
  },
  'ppp-encryption-refused': {
    stage: 'ppp-ncp',
    explanation: 'The client logged in, but the MPPE encryption the listener requires was not agreed: the client refuses MPPE, or it logged in with a method that gives no MPPE keys (PAP, CHAP-MD5).',
    client: { windows: WIN_742 },
    fix: 'Set the client to require encryption with MS-CHAPv2 (the profiles Postern generates do), or, only for a device that cannot, make the listener\'s encryption optional (insecure).',
  },
  'ppp-network-failed': {
    stage: 'ppp-ncp',
    explanation: 'The client logged in, but its IP settings (IPCP/IPV6CP) never came up: no address was left in the pool, the address RADIUS gave was refused, or the client refused the settings offered.',
    client: { windows: WIN_733 },
    fix: 'Check that the listener\'s pool has free addresses (Settings, Pools) and, with RADIUS, that its Framed-IP-Address or Framed-Pool fits a pool; read the detail for the gateway\'s reason.',
  },
  'sstp-certificate-refused': {
    stage: 'tls',
    explanation: 'The SSTP client finished the TLS handshake, then hung up without starting SSTP: it checked the gateway\'s certificate and refused it. Windows does this when it cannot fetch the certificate\'s revocation list (CRL), when it does not trust the CA, or when the name it dialled is not in the certificate. (A scanner probing the port looks the same.)',
    client: { windows: WIN_SSTP_CERTIFICATE },
    fix: 'Let clients fetch the CRL: forward TCP 80 on the upstream router to this gateway (see the ports to open under Settings, Listeners) or use a public certificate (ACME); install the gateway\'s CA in the computer\'s Trusted Root Certification Authorities; dial the name in the gateway certificate (the profile Postern generates does all three).',
  },
  other: {
    stage: 'ike-auth',
    explanation: 'The connection attempt failed for a reason the doctor does not know yet; the detail has the gateway\'s own words.',
    client: {},
    fix: 'Read the detail and the Logs page around this time.',
  },
} as const satisfies Record<string, CauseInfo>;

export type CauseCode = keyof typeof CAUSES;

