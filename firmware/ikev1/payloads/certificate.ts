/*
 * Certificate payload (RFC 2408 §3.9) and Certificate Request payload (§3.10):
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Cert Encoding !                                               !
 * +-+-+-+-+-+-+-+-+          Certificate Data                     ~
 * (CERTREQ: Cert. Type, then the Certificate Authority, a DER DN, possibly empty.)
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export interface CertificatePayload {
  readonly encoding: number;
  readonly data: Uint8Array;
}

export interface CertificateRequest {
  readonly certType: number;
  readonly authority: Uint8Array;
}

export function decodeCertificate(body: Uint8Array, base = 0): Decoded<CertificatePayload> {
  if (body.length < 1) return fail('INVALID_SYNTAX', 'a certificate payload without its encoding', base);
  return ok({ encoding: body[0] as number, data: body.slice(1) });
}

export const encodeCertificate = (c: CertificatePayload): Uint8Array => Buffer.concat([Uint8Array.of(c.encoding), c.data]);

export function decodeCertificateRequest(body: Uint8Array, base = 0): Decoded<CertificateRequest> {
  if (body.length < 1) return fail('INVALID_SYNTAX', 'a certificate request without its type', base);
  return ok({ certType: body[0] as number, authority: body.slice(1) });
}

export const encodeCertificateRequest = (c: CertificateRequest): Uint8Array => Buffer.concat([Uint8Array.of(c.certType), c.authority]);
