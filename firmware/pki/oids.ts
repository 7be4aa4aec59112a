/**
 * Object identifiers Postern's CA writes or reads, named as in the defining documents
 * (RFC 5280 for X.509, RFC 4945 for IKE, RFC 7292 for PKCS#12).
 */
export const Oid = {
  // RFC 5280 §4.1.2.4 / X.520
  commonName: '2.5.4.3',
  // RFC 5280 §4.2.1 certificate extensions (id-ce)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  cRLDistributionPoints: '2.5.29.31',
  // RFC 5280 §4.2.2.1 private extensions (id-pe) and access methods (id-ad)
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  // RFC 5280 §4.2.1.12 key purposes (id-kp) and RFC 4945 §5.1.3.12
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ipsecIkeIntermediate: '1.3.6.1.5.5.8.2.2',
  // Algorithms: RFC 4055 §5, RFC 5480 §2.1.1, RFC 5758 §3.2
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  idEcPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  sha1: '1.3.14.3.2.26',
  // RFC 7292 PKCS#12
  data: '1.2.840.113549.1.7.1',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;
