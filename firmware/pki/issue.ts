import type { KeyObject } from 'node:crypto';
import { parseIp } from '../util/ip.ts';
import type { Secret } from '../util/secret.ts';
import type { CertificateAuthority } from './ca.ts';
import { buildCertificate, randomSerial, validity, type RandomBytes } from './certificate.ts';
import type { Asn1 } from './der.ts';
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  extKeyUsage,
  keyUsage,
  subjectAltName,
  subjectKeyIdentifier,
  type GeneralName,
  type KeyUsage,
} from './extensions.ts';
import { loadIssuer } from './issuer.ts';
import { generateKeyPair, isEcKey, keyIdentifier, privateKeyPem, type KeyType } from './keys.ts';
import { checkCommonName, checkEmail, classifySan, isDnsName, nameWithCommonName } from './names.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';
import type { PublicationUrls } from './publication-urls.ts';

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  /** Lower-case hex of the serial number, as a CRL entry needs it. */
  readonly serialHex: string;
}

interface CommonOptions {
  readonly commonName: string;
  readonly validityDays: number;
  readonly now: Date;
  /** Key of the new certificate; RSA 2048 by default, the one every IKEv2 and SSTP client takes. */
  readonly keyType?: KeyType;
  readonly randomBytes?: RandomBytes;
  /** The CRL distribution point and caIssuers URL to write in; none when publication is off. */
  readonly publication?: PublicationUrls;
}

export interface ServerCertificateOptions extends CommonOptions {
  /** DNS names and IP addresses clients use to reach the gateway. */
  readonly sans: readonly string[];
}

export interface ClientCertificateOptions extends CommonOptions {
  readonly email?: string;
}

/**
 * Apple (support article HT211025): TLS server certificates issued from 1 September 2020 must not
 * last more than 398 days, or Safari and the system's TLS refuse them; the gateway certificate is
 * SSTP's TLS certificate. 397 because notBefore is back-dated an hour: 397 days and an hour stay
 * inside 398.
 */
export const MAX_SERVER_DAYS = 397;
const maxServerDays = MAX_SERVER_DAYS;
const maxClientDays = 10 * 366;

/**
 * A gateway certificate for IKEv2 and SSTP. EKU serverAuth is required by Windows (IKEv2 machine
 * certificate rules and SSTP's TLS) and by Apple (HT210176); IKE intermediate (RFC 4945 §5.1.3.12)
 * lets Windows pick it for IKE. Clients match the address they dialled against the SAN only
 * (Apple and strongSwan ignore the CN), so the CN is added to the SANs when it is a host name or IP.
 */
export function issueServerCertificate(ca: CertificateAuthority, options: ServerCertificateOptions): IssuedCertificate {
  const commonName = checkCommonName(options.commonName, 'server');
  const cnIsHost = parseIp(commonName) !== undefined || isDnsName(commonName.toLowerCase());
  const sans = uniqueNames([...(cnIsHost ? [commonName] : []), ...options.sans].map(classifySan));
  if (sans.length === 0) {
    throw pkiError(
      PkiProblem.subjectAltName,
      'a server certificate needs at least one DNS name or IP address: clients match the server against the subject alternative names',
    );
  }
  return issue(ca, options, commonName, maxServerDays, (publicKey) => [
    keyUsage(leafKeyUsage(publicKey)),
    extKeyUsage([Oid.serverAuth, Oid.ipsecIkeIntermediate]),
    subjectAltName(sans),
  ]);
}

/** A user certificate (EAP-TLS, IKEv2 certificate authentication): EKU clientAuth, CN = user name. */
export function issueClientCertificate(ca: CertificateAuthority, options: ClientCertificateOptions): IssuedCertificate {
  const commonName = checkCommonName(options.commonName, 'client');
  const email = options.email === undefined ? undefined : checkEmail(options.email);
  return issue(ca, options, commonName, maxClientDays, (publicKey) => [
    keyUsage(leafKeyUsage(publicKey)),
    extKeyUsage([Oid.clientAuth]),
    ...(email === undefined ? [] : [subjectAltName([{ type: 'email', value: email }])]),
  ]);
}

/** RFC 5480 §3: keyEncipherment MUST NOT be asserted for EC keys; RSA keys keep it for TLS RSA key exchange. */
const leafKeyUsage = (publicKey: KeyObject): KeyUsage[] => (isEcKey(publicKey) ? ['digitalSignature'] : ['digitalSignature', 'keyEncipherment']);

function issue(
  ca: CertificateAuthority,
  options: CommonOptions,
  commonName: string,
  maxDays: number,
  profile: (publicKey: KeyObject) => Asn1[],
): IssuedCertificate {
  const keys = generateKeyPair(options.keyType ?? 'rsa-2048');
  return { ...signLeaf(ca, options, commonName, maxDays, keys.publicKey, profile), keyPem: privateKeyPem(keys.privateKey) };
}

/**
 * A client certificate for a key the subject made and kept (a CSR's key, issue 26's token
 * enrollment): the same profile as issueClientCertificate, and no private key ever leaves the box.
 */
export function issueClientCertificateForKey(ca: CertificateAuthority, options: CommonOptions & { readonly publicKey: KeyObject }): Omit<IssuedCertificate, 'keyPem'> {
  const commonName = checkCommonName(options.commonName, 'client');
  return signLeaf(ca, options, commonName, maxClientDays, options.publicKey, (publicKey) => [keyUsage(leafKeyUsage(publicKey)), extKeyUsage([Oid.clientAuth])]);
}

function signLeaf(
  ca: CertificateAuthority,
  options: CommonOptions,
  commonName: string,
  maxDays: number,
  publicKey: KeyObject,
  profile: (publicKey: KeyObject) => Asn1[],
): Omit<IssuedCertificate, 'keyPem'> {
  const issuer = loadIssuer(ca);
  const window = validity(options.now, options.validityDays, maxDays);
  // A certificate cannot usefully outlive its CA: the chain stops validating then anyway.
  const notAfter = window.notAfter > issuer.notAfter ? issuer.notAfter : window.notAfter;
  const serial = randomSerial(options.randomBytes);
  const certificatePem = buildCertificate(
    {
      serial,
      issuer: issuer.name,
      subject: nameWithCommonName(commonName),
      notBefore: window.notBefore,
      notAfter,
      subjectPublicKey: publicKey,
      extensions: [
        basicConstraints(false),
        ...profile(publicKey),
        subjectKeyIdentifier(keyIdentifier(publicKey)),
        authorityKeyIdentifier(issuer.keyId),
        // Windows checks revocation of the SSTP server (CERT_E_REVOCATION_OFFLINE without a reachable
        // CDP) and builds missing chain links from caIssuers.
        ...(options.publication ? [crlDistributionPoints([options.publication.crl]), authorityInfoAccess([options.publication.caIssuers])] : []),
      ],
    },
    issuer.key,
  );
  return { certificatePem, serialHex: serial.toString('hex') };
}

function uniqueNames(names: GeneralName[]): GeneralName[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const key = `${n.type}:${n.type === 'ip' ? (parseIp(n.value)?.bytes.toString('hex') ?? n.value) : n.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
