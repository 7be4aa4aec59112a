/**
 * IKEv1 numbers, by the names of the documents that assign them: ISAKMP (RFC 2408), IKE (RFC 2409
 * Appendix A), the IPsec DOI (RFC 2407), NAT-T (RFC 3947 and its drafts). Plain tables (STYLE.md).
 * Diffie-Hellman group numbers are the IANA IKE group numbers, the same as IKEv2's (DhId).
 */

/** RFC 2408 §3.1 exchange types; RFC 2409 §5 names 2 Main Mode and 4 Aggressive Mode, Quick Mode 32. */
export const ExchangeType = { BASE: 1, IDENTITY_PROTECTION: 2, AUTHENTICATION_ONLY: 3, AGGRESSIVE: 4, INFORMATIONAL: 5, QUICK_MODE: 32 } as const;

/** RFC 2408 §3.1 next payload types; NAT-D/NAT-OA 20/21 (RFC 3947 §3.2, §5.2), 130/131 in the drafts. */
export const PayloadType = {
  NONE: 0, SA: 1, P: 2, T: 3, KE: 4, ID: 5, CERT: 6, CR: 7, HASH: 8, SIG: 9, NONCE: 10, N: 11, D: 12, VID: 13,
  NAT_D: 20, NAT_OA: 21, NAT_D_DRAFT: 130, NAT_OA_DRAFT: 131,
} as const;

/** Header flags (RFC 2408 §3.1): Encryption, Commit, Authentication only. */
export const HeaderFlag = { E: 0x01, C: 0x02, A: 0x04 } as const;

export const DOI_IPSEC = 1;
/** RFC 2407 §4.2: the only situation implemented. */
export const SIT_IDENTITY_ONLY = 1;

/** RFC 2407 §4.4.1 protocol identifiers. */
export const ProtocolId = { ISAKMP: 1, IPSEC_AH: 2, IPSEC_ESP: 3, IPCOMP: 4 } as const;
/** RFC 2407 §4.4.2: the one ISAKMP transform. */
export const KEY_IKE = 1;
/** RFC 2407 §4.4.4 ESP transform identifiers (AES-CBC RFC 3602, AES-GCM RFC 4106 §8.1). */
export const EspTransformId = { ESP_DES: 2, ESP_3DES: 3, ESP_NULL: 11, ESP_AES: 12, ESP_AES_GCM_8: 18, ESP_AES_GCM_12: 19, ESP_AES_GCM_16: 20 } as const;

/** RFC 2409 Appendix A phase 1 attribute classes; `basic` says TV (true) or TLV (false). */
export const Phase1Attr = {
  ENCRYPTION_ALGORITHM: 1, HASH_ALGORITHM: 2, AUTHENTICATION_METHOD: 3, GROUP_DESCRIPTION: 4, GROUP_TYPE: 5,
  GROUP_PRIME: 6, GROUP_GENERATOR_ONE: 7, GROUP_GENERATOR_TWO: 8, GROUP_CURVE_A: 9, GROUP_CURVE_B: 10,
  LIFE_TYPE: 11, LIFE_DURATION: 12, PRF: 13, KEY_LENGTH: 14, FIELD_SIZE: 15, GROUP_ORDER: 16,
} as const;
/** Classes whose value is variable (V in Appendix A); all others are basic (B). */
export const PHASE1_VARIABLE: ReadonlySet<number> = new Set([6, 7, 8, 9, 10, 12, 16]);

/** Appendix A values. AES-CBC is 7 (RFC 3602 §5); SHA2 hashes 4..6 (RFC 4868 §3). */
export const EncryptionAlgorithm = { DES_CBC: 1, IDEA_CBC: 2, BLOWFISH_CBC: 3, RC5_R16_B64_CBC: 4, '3DES_CBC': 5, CAST_CBC: 6, AES_CBC: 7 } as const;
export const HashAlgorithm = { MD5: 1, SHA: 2, TIGER: 3, SHA2_256: 4, SHA2_384: 5, SHA2_512: 6 } as const;
/** Appendix A, with the XAUTH values (draft-ietf-ipsec-isakmp-xauth) peers send for remote access. */
export const AuthMethod = {
  PRE_SHARED_KEY: 1, DSS_SIGNATURES: 2, RSA_SIGNATURES: 3, RSA_ENCRYPTION: 4, REVISED_RSA_ENCRYPTION: 5,
  /** RFC 4754 §8 */
  ECDSA_SHA256_P256: 9, ECDSA_SHA384_P384: 10, ECDSA_SHA512_P521: 11,
  XAUTH_INIT_PSK: 65001, XAUTH_RESP_PSK: 65002, XAUTH_INIT_RSA: 65005, XAUTH_RESP_RSA: 65006,
} as const;
export const LifeType = { SECONDS: 1, KILOBYTES: 2 } as const;

/** RFC 2407 §4.5 IPsec SA attribute classes (ESN from RFC 4304 §2). */
export const Phase2Attr = {
  SA_LIFE_TYPE: 1, SA_LIFE_DURATION: 2, GROUP_DESCRIPTION: 3, ENCAPSULATION_MODE: 4, AUTHENTICATION_ALGORITHM: 5,
  KEY_LENGTH: 6, KEY_ROUNDS: 7, COMPRESS_DICTIONARY_SIZE: 8, COMPRESS_PRIVATE_ALGORITHM: 9, EXTENDED_SEQUENCE_NUMBER: 11,
} as const;
export const PHASE2_VARIABLE: ReadonlySet<number> = new Set([2, 9]);

/** RFC 2407 §4.5 and RFC 3947 §5: 3/4 UDP-encapsulated, 61443/61444 the values of draft-ietf-ipsec-nat-t-ike-00..03. */
export const EncapsulationMode = {
  TUNNEL: 1, TRANSPORT: 2, UDP_ENCAPSULATED_TUNNEL: 3, UDP_ENCAPSULATED_TRANSPORT: 4,
  UDP_ENCAPSULATED_TUNNEL_DRAFT: 61443, UDP_ENCAPSULATED_TRANSPORT_DRAFT: 61444,
} as const;
/** RFC 2407 §4.5 authentication algorithms (SHA2 from RFC 4868 §3). */
export const AuthAlgorithm = { HMAC_MD5: 1, HMAC_SHA: 2, DES_MAC: 3, KPDK: 4, HMAC_SHA2_256: 5, HMAC_SHA2_384: 6, HMAC_SHA2_512: 7 } as const;

/** RFC 2407 §4.6.2.1 identification types. */
export const IdType = {
  ID_IPV4_ADDR: 1, ID_FQDN: 2, ID_USER_FQDN: 3, ID_IPV4_ADDR_SUBNET: 4, ID_IPV6_ADDR: 5, ID_IPV6_ADDR_SUBNET: 6,
  ID_IPV4_ADDR_RANGE: 7, ID_IPV6_ADDR_RANGE: 8, ID_DER_ASN1_DN: 9, ID_DER_ASN1_GN: 10, ID_KEY_ID: 11,
} as const;

/** RFC 2408 §3.9 certificate encodings. */
export const CertEncoding = { PKCS7: 1, PGP: 2, DNS_SIGNED_KEY: 3, X509_SIGNATURE: 4, X509_KEY_EXCHANGE: 5, KERBEROS: 6, CRL: 7, ARL: 8, SPKI: 9, X509_ATTRIBUTE: 10 } as const;

/** RFC 2408 §3.14.1 notify messages (errors), RFC 2407 §4.6.3 status, RFC 3706 DPD. */
export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1, DOI_NOT_SUPPORTED: 2, SITUATION_NOT_SUPPORTED: 3, INVALID_COOKIE: 4, INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6, INVALID_EXCHANGE_TYPE: 7, INVALID_FLAGS: 8, INVALID_MESSAGE_ID: 9, INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11, INVALID_TRANSFORM_ID: 12, ATTRIBUTES_NOT_SUPPORTED: 13, NO_PROPOSAL_CHOSEN: 14, BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16, INVALID_KEY_INFORMATION: 17, INVALID_ID_INFORMATION: 18, INVALID_CERT_ENCODING: 19,
  INVALID_CERTIFICATE: 20, CERT_TYPE_UNSUPPORTED: 21, INVALID_CERT_AUTHORITY: 22, INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24, INVALID_SIGNATURE: 25, ADDRESS_NOTIFICATION: 26, NOTIFY_SA_LIFETIME: 27,
  CERTIFICATE_UNAVAILABLE: 28, UNSUPPORTED_EXCHANGE_TYPE: 29, UNEQUAL_PAYLOAD_LENGTHS: 30,
  CONNECTED: 16384, RESPONDER_LIFETIME: 24576, REPLAY_STATUS: 24577, INITIAL_CONTACT: 24578,
  R_U_THERE: 36136, R_U_THERE_ACK: 36137,
} as const;

/** The name of a notify type for logs ("NO-PROPOSAL-CHOSEN"), or its number. */
export function notifyName(type: number): string {
  const entry = Object.entries(NotifyType).find(([, v]) => v === type);
  return entry ? entry[0].replaceAll('_', '-') : String(type);
}
