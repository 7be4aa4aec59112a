/**
 * Microsoft's vendor attributes (vendor 311, RFC 2548) for MS-CHAPv1 and v2 through RADIUS:
 *
 *   MS-CHAP-Challenge (11):  the authenticator challenge (16 bytes for v2, 8 for v1)
 *   MS-CHAP-Response (1):    Ident (1) | Flags (1, bit 0 "use NT") | LM-Response (24) | NT-Response (24)
 *   MS-CHAP-MPPE-Keys (12):  v1's keys, hidden like User-Password (`chap-mppe-keys.ts`)
 *   MS-CHAP2-Response (25):  Ident (1) | Flags (1) | Peer-Challenge (16) | Reserved (8) | Response (24)
 *   MS-CHAP2-Success (26):   Ident (1) | "S=<40 hex digits>" (RFC 2759 §5), maybe " M=<message>"
 *   MS-CHAP-Error (2):       Ident (1) | "E=eeeeeeeeee R=r C=cccc V=vvvv M=<msg>" (RFC 2759 §6)
 *   MS-MPPE-Send-Key (16), MS-MPPE-Recv-Key (17): salted (§2.4.2, `salted-key.ts`)
 *   MS-MPPE-Encryption-Policy (7), -Types (8), MS-Primary/Secondary-DNS-Server (28/29)
 *
 * Send/Recv are named from the server's side: MS-MPPE-Send-Key is the key the NAS (the PPP
 * authenticator) sends with, which is the client's receive key (RFC 2548 §2.4.2).
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import type { Secret } from '../util/secret.ts';
import type { RadiusAttribute } from './packet.ts';
import { decryptChapMppeKeys } from './chap-mppe-keys.ts';
import { decryptSaltedKey } from './salted-key.ts';
import { encodeVendorAttribute, vendorAttributes, type VendorAttribute } from './vendor-specific.ts';

export const VENDOR_MICROSOFT = 311;

export const MsAttr = {
  MsChapResponse: 1,
  MsChapError: 2,
  MsMppeEncryptionPolicy: 7,
  MsMppeEncryptionTypes: 8,
  MsChapChallenge: 11,
  MsChapMppeKeys: 12,
  MsMppeSendKey: 16,
  MsMppeRecvKey: 17,
  MsChap2Response: 25,
  MsChap2Success: 26,
  MsPrimaryDnsServer: 28,
  MsSecondaryDnsServer: 29,
} as const;

export const msChapChallenge = (challenge: Uint8Array): RadiusAttribute => {
  if (challenge.length !== 16 && challenge.length !== 8) throw new RangeError('MS-CHAP-Challenge is 16 bytes (MS-CHAPv2) or 8 (v1)');
  return encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapChallenge, challenge);
};

export interface MsChap2Response {
  readonly ident: number;
  readonly flags: number;
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
}

export function msChap2Response(r: MsChap2Response): RadiusAttribute {
  if (r.peerChallenge.length !== 16 || r.ntResponse.length !== 24) throw new RangeError('MS-CHAP2-Response needs a 16-byte Peer-Challenge and a 24-byte Response');
  const value = new Uint8Array(50);
  value[0] = r.ident;
  value[1] = r.flags;
  value.set(r.peerChallenge, 2);
  value.set(r.ntResponse, 26);
  return encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChap2Response, value);
}

export function decodeMsChap2Response(value: Uint8Array): Decoded<MsChap2Response> {
  if (value.length !== 50) return fail('INVALID_SYNTAX', `MS-CHAP2-Response is 50 bytes, got ${value.length}`, 0);
  return ok({ ident: value[0] ?? 0, flags: value[1] ?? 0, peerChallenge: value.subarray(2, 18), ntResponse: value.subarray(26, 50) });
}

/** MS-CHAP-Response for MS-CHAPv1: the LM-Response is sent as zeros (never computed nor passed on). */
export function msChapResponse(r: { readonly ident: number; readonly ntResponse: Uint8Array }): RadiusAttribute {
  if (r.ntResponse.length !== 24) throw new RangeError('MS-CHAP-Response needs a 24-byte NT-Response');
  const value = new Uint8Array(50);
  value[0] = r.ident;
  value[1] = 1; // use the NT-Response
  value.set(r.ntResponse, 26);
  return encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapResponse, value);
}

export function decodeMsChapResponse(value: Uint8Array): Decoded<{ readonly ident: number; readonly useNt: boolean; readonly ntResponse: Uint8Array }> {
  if (value.length !== 50) return fail('INVALID_SYNTAX', `MS-CHAP-Response is 50 bytes, got ${value.length}`, 0);
  return ok({ ident: value[0] ?? 0, useNt: ((value[1] ?? 0) & 1) === 1, ntResponse: value.subarray(26, 50) });
}

/** Ident and text of MS-CHAP2-Success or MS-CHAP-Error. */
export interface MsChapMessage {
  readonly ident: number;
  readonly text: string;
}

export function decodeMsChapMessage(value: Uint8Array): Decoded<MsChapMessage> {
  if (value.length < 2) return fail('TRUNCATED', 'an MS-CHAP message needs an Ident and text', 0);
  const text = Buffer.from(value.subarray(1)).toString('latin1');
  if (!/^[\x20-\x7e]*$/.test(text)) return fail('INVALID_SYNTAX', 'MS-CHAP message text is not printable ASCII', 1);
  return ok({ ident: value[0] ?? 0, text });
}

/** The "S=…" authenticator response of an MS-CHAP2-Success text, for checkAuthenticatorResponse. */
export const authenticatorResponseOf = (text: string): string => text.slice(0, 42);

/** RFC 2759 §6: "E=691 R=0 C=… V=3 M=…" → error number, whether a retry is allowed, the message. */
export function parseMsChapError(text: string): { error: number; retry: boolean; message: string } | undefined {
  const m = /^E=(\d{1,10})(?: R=([01]))?(?: C=[0-9A-Fa-f]*)?(?: V=\d+)?(?: M=(.*))?$/.exec(text);
  if (!m) return undefined;
  return { error: Number(m[1]), retry: m[2] === '1', message: m[3] ?? '' };
}

export interface MicrosoftReply {
  readonly success?: MsChapMessage;
  readonly error?: MsChapMessage;
  /** Decrypted; the NAS sends with sendKey and receives with recvKey. */
  readonly sendKey?: Secret<Uint8Array>;
  readonly recvKey?: Secret<Uint8Array>;
  /** MS-CHAP-MPPE-Keys' NT-Key (MS-CHAPv1), decrypted. */
  readonly chapNtKey?: Secret<Uint8Array>;
  readonly primaryDns?: string;
  readonly secondaryDns?: string;
  /** Microsoft attributes present but unreadable: the reply is used without them, and counted. */
  readonly malformed: number;
}

const ms = (all: readonly VendorAttribute[], type: number) => all.find((a) => a.vendorId === VENDOR_MICROSOFT && a.vendorType === type);
const ipv4 = (v: Uint8Array | undefined) => (v && v.length === 4 ? Array.from(v).join('.') : undefined);

/** Reads the Microsoft attributes of a response to the request whose authenticator is given. */
export function readMicrosoftReply(attributes: readonly RadiusAttribute[], secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): MicrosoftReply {
  const vsas = vendorAttributes(attributes);
  let malformed = vsas.malformed;
  const out: { -readonly [K in keyof MicrosoftReply]: MicrosoftReply[K] } = { malformed: 0 };
  const message = (type: number): MsChapMessage | undefined => {
    const a = ms(vsas.attributes, type);
    if (!a) return undefined;
    const d = decodeMsChapMessage(a.value);
    if (!d.ok) malformed++;
    return d.ok ? d.value : undefined;
  };
  const key = (type: number): Secret<Uint8Array> | undefined => {
    const a = ms(vsas.attributes, type);
    if (!a) return undefined;
    const d = decryptSaltedKey(a.value, secret, requestAuthenticator);
    if (!d.ok) malformed++;
    return d.ok ? d.value : undefined;
  };
  const success = message(MsAttr.MsChap2Success);
  const error = message(MsAttr.MsChapError);
  const sendKey = key(MsAttr.MsMppeSendKey);
  const recvKey = key(MsAttr.MsMppeRecvKey);
  const chapKeys = ms(vsas.attributes, MsAttr.MsChapMppeKeys);
  const chapNtKey = chapKeys ? decryptChapMppeKeys(chapKeys.value, secret, requestAuthenticator) : undefined;
  if (chapNtKey && !chapNtKey.ok) malformed++;
  const primaryDns = ipv4(ms(vsas.attributes, MsAttr.MsPrimaryDnsServer)?.value);
  const secondaryDns = ipv4(ms(vsas.attributes, MsAttr.MsSecondaryDnsServer)?.value);
  if (success) out.success = success;
  if (error) out.error = error;
  if (sendKey) out.sendKey = sendKey;
  if (recvKey) out.recvKey = recvKey;
  if (chapNtKey?.ok) out.chapNtKey = chapNtKey.value;
  if (primaryDns) out.primaryDns = primaryDns;
  if (secondaryDns) out.secondaryDns = secondaryDns;
  out.malformed = malformed;
  return out;
}
