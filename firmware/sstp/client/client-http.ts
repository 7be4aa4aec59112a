/*
 * The client's half of SSTP's HTTP exchange ([MS-SSTP] §3.2.4.1, §4.1): the request head, and the
 * server's response head read incrementally (200 and Content-Length ULONGLONG_MAX, or a clear error).
 */
import { SSTP_CONTENT_LENGTH, SSTP_METHOD, SSTP_URI_PATH } from '../http-handshake.ts';

export function sstpRequestHead(host: string, correlationId: string): Buffer {
  return Buffer.from(`${SSTP_METHOD} ${SSTP_URI_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${SSTP_CONTENT_LENGTH}\r\nSSTPCORRELATIONID: {${correlationId}}\r\n\r\n`, 'latin1');
}

export type ResponseHead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'accepted'; readonly headLength: number }
  | { readonly kind: 'refused'; readonly why: string };

export function readResponseHead(bytes: Uint8Array): ResponseHead {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 8192)).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return bytes.length >= 8192 ? { kind: 'refused', why: 'no end of the response head in 8 KB' } : { kind: 'incomplete' };
  const [status = '', ...fields] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(status);
  if (!m) return { kind: 'refused', why: `not an HTTP/1.1 status line: ${status.slice(0, 60)}` };
  if (m[1] !== '200') return { kind: 'refused', why: `the server answered ${status.slice(0, 60)}` };
  const length = fields.find((f) => /^content-length:/i.test(f))?.split(':')[1]?.trim();
  if (length !== undefined && length !== SSTP_CONTENT_LENGTH) return { kind: 'refused', why: `Content-Length ${length}` };
  return { kind: 'accepted', headLength: end + 4 };
}
