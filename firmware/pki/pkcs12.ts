import { createHash, createHmac, createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { Secret } from '../util/secret.ts';
import { bmpString, decodeDer, encodeDer, explicit, fromBinary, integer, nullValue, octetString, oid, sequence, set, toBinary, type Asn1 } from './der.ts';
import { keysMatch, loadPrivateKey } from './keys.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/**
 *   PFX ::= SEQUENCE {                                   -- RFC 7292 §4
 *       version     INTEGER {v3(3)},
 *       authSafe    ContentInfo,       -- data: AuthenticatedSafe (SEQUENCE OF ContentInfo)
 *       macData     MacData OPTIONAL }
 *   MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 *
 * Export uses the "legacy" profile every importer knows: the key in a pkcs8ShroudedKeyBag under
 * pbeWithSHAAnd3-KeyTripleDES-CBC, an HMAC-SHA-1 MAC, 2048 iterations (OpenSSL's legacy default).
 * Windows before 10 1709, macOS Keychain and Android's certificate installer reject the
 * AES-256/PBES2 + SHA-256 MAC files OpenSSL 3 writes by default. Certificates stay in a plain
 * data SafeContents (they are public). node-forge encrypts the key; it cannot write EC keys into
 * a PFX itself, so the bags are assembled here.
 */
export interface Pkcs12ExportOptions {
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  readonly caPem: string;
  readonly password: Secret<string>;
  /** Shown by Windows' certificate manager and macOS Keychain Access. */
  readonly friendlyName: string;
}

const iterations = 2048;

export function exportPkcs12(options: Pkcs12ExportOptions): Buffer {
  const password = options.password.reveal();
  if (password.length === 0) throw pkiError(PkiProblem.password, 'a PKCS#12 export needs a non-empty password');
  if (options.friendlyName.length === 0 || /[\u0000-\u001f]/.test(options.friendlyName)) {
    throw pkiError(PkiProblem.pkcs12Contents, 'the PKCS#12 friendly name must be non-empty printable text');
  }
  const leaf = x509(options.certificatePem, 'certificate');
  const ca = x509(options.caPem, 'CA certificate');
  const key = loadPrivateKey(options.keyPem, 'certificate');
  if (!keysMatch(key, leaf.publicKey)) throw pkiError(PkiProblem.privateKey, 'the private key does not belong to the certificate');

  // localKeyId pairs the key with its certificate; Windows and macOS use it to link them.
  const attributes = set([
    attribute(Oid.friendlyName, bmpString(options.friendlyName)),
    attribute(Oid.localKeyId, octetString(createHash('sha1').update(leaf.raw).digest())),
  ]);
  const certBags = [certBag(leaf.raw, attributes), certBag(ca.raw)];
  const keyBag = sequence([oid(Oid.pkcs8ShroudedKeyBag), explicit(0, shroudedKey(key, password)), attributes]);
  const authSafe = encodeDer(sequence([dataContentInfo(sequence(certBags)), dataContentInfo(sequence([keyBag]))]));

  const pfx = sequence([integer(3n), sequence([oid(Oid.data), explicit(0, octetString(authSafe))]), macData(authSafe, password)]);
  return encodeDer(pfx);
}

const attribute = (type: string, value: Asn1): Asn1 => sequence([oid(type), set([value])]);

/** CertBag ::= SEQUENCE { certId x509Certificate, certValue [0] EXPLICIT OCTET STRING } (RFC 7292 §4.2.3) */
const certBag = (der: Buffer, attributes?: Asn1): Asn1 =>
  sequence([
    oid(Oid.certBag),
    explicit(0, sequence([oid(Oid.x509Certificate), explicit(0, octetString(der))])),
    ...(attributes ? [attributes] : []),
  ]);

const dataContentInfo = (safeContents: Asn1): Asn1 => sequence([oid(Oid.data), explicit(0, octetString(encodeDer(safeContents)))]);

/** EncryptedPrivateKeyInfo over the PKCS#8 PrivateKeyInfo, 3DES with the PKCS#12 KDF (RFC 7292 App. C). */
function shroudedKey(key: KeyObject, password: string): Asn1 {
  const privateKeyInfo = decodeDer(key.export({ type: 'pkcs8', format: 'der' }));
  return forge.pki.encryptPrivateKeyInfo(privateKeyInfo, password, { algorithm: '3des', count: iterations, saltSize: 8 });
}

/** RFC 7292 App. B: MAC key from the PKCS#12 KDF with ID 3, HMAC-SHA-1 over the AuthenticatedSafe. */
function macData(authSafe: Buffer, password: string): Asn1 {
  const salt = randomBytes(8);
  const macKey = fromBinary(forge.pkcs12.generateKey(password, forge.util.createBuffer(toBinary(salt)), 3, iterations, 20).getBytes());
  const mac = createHmac('sha1', macKey).update(authSafe).digest();
  return sequence([sequence([sequence([oid(Oid.sha1), nullValue()]), octetString(mac)]), octetString(salt), integer(BigInt(iterations))]);
}

function x509(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw pkiError(PkiProblem.certificate, `the ${what} is not a readable PEM certificate`);
  }
}

export interface ImportedPkcs12 {
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  /** The other certificates, issuer order first (the leaf's issuer, then its issuer, ...). */
  readonly chainPems: string[];
}

/** Reads an outside bundle (a commercial CA's, or a Windows export); any cipher forge knows. */
export function importPkcs12(der: Buffer, password: Secret<string>): ImportedPkcs12 {
  const { keys, certificates } = readBags(der, password);
  for (const key of keys) {
    const leaf = certificates.find((c) => keysMatch(key, c.publicKey));
    if (!leaf) continue;
    return {
      certificatePem: leaf.toString(),
      keyPem: new Secret(key.export({ type: 'pkcs8', format: 'pem' }) as string),
      chainPems: issuerOrder(leaf, certificates.filter((c) => c !== leaf)).map((c) => c.toString()),
    };
  }
  const why = keys.length === 0 ? 'holds no private key' : 'holds no certificate for its private key';
  throw pkiError(PkiProblem.pkcs12Contents, `the PKCS#12 file ${why}`);
}

function readBags(der: Buffer, password: Secret<string>): { keys: KeyObject[]; certificates: X509Certificate[] } {
  let pfx: forge.pkcs12.Pkcs12Pfx;
  try {
    // Lenient: other tools write BER (indefinite lengths) inside PFX files.
    pfx = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(toBinary(der), false), false, password.reveal());
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    // forge reports a failed MAC check or key decryption with these words; it names no secret.
    if (/password/i.test(message)) throw pkiError(PkiProblem.password, 'wrong PKCS#12 password: the integrity check or key decryption failed');
    throw pkiError(PkiProblem.pkcs12Format, 'the file is not a PKCS#12 bundle Postern can read');
  }
  const keys: KeyObject[] = [];
  const certificates: X509Certificate[] = [];
  for (const bag of pfx.safeContents.flatMap((contents) => contents.safeBags)) {
    if (bag.type === Oid.keyBag || bag.type === Oid.pkcs8ShroudedKeyBag) keys.push(bagKey(bag));
    else if (bag.type === Oid.certBag) certificates.push(bagCertificate(bag));
  }
  return { keys, certificates };
}

/** forge decodes RSA keys itself and leaves any other PrivateKeyInfo as ASN.1. */
function bagKey(bag: forge.pkcs12.Bag): KeyObject {
  const info = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : (bag.asn1 as Asn1 | undefined);
  try {
    if (info === undefined) throw new TypeError('empty key bag');
    return createPrivateKey({ key: encodeDer(info), format: 'der', type: 'pkcs8' });
  } catch {
    throw pkiError(PkiProblem.pkcs12Contents, 'the PKCS#12 file holds a private key Postern cannot read');
  }
}

function bagCertificate(bag: forge.pkcs12.Bag): X509Certificate {
  const node = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : (bag.asn1 as Asn1 | undefined);
  try {
    if (node === undefined) throw new TypeError('empty certificate bag');
    return new X509Certificate(encodeDer(node));
  } catch {
    throw pkiError(PkiProblem.pkcs12Contents, 'the PKCS#12 file holds a certificate Postern cannot read');
  }
}

function issuerOrder(leaf: X509Certificate, others: X509Certificate[]): X509Certificate[] {
  const ordered: X509Certificate[] = [];
  const left = [...others];
  let current = leaf;
  let index: number;
  while ((index = left.findIndex((c) => current.checkIssued(c) && current.verify(c.publicKey))) >= 0) {
    current = left.splice(index, 1)[0] as X509Certificate;
    ordered.push(current);
  }
  return [...ordered, ...left];
}

