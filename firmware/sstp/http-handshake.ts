/*
 * The HTTP exchange that opens an SSTP connection inside TLS ([MS-SSTP] §3.2.4.1, §4.1). The
 * client sends a request head and no body; SSTP packets follow it on the same stream:
 *
 *   SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n
 *   Host: vpn.example.com\r\n
 *   Content-Length: 18446744073709551615\r\n        (ULONGLONG_MAX, "MUST be specified")
 *   SSTPCORRELATIONID: {7B1C...}\r\n                 (SHOULD, a GUID for troubleshooting logs)
 *   \r\n
 *
 * The server accepts with this head (§4.1; the status line has no reason phrase, as a Windows
 * server sends it, captured in sstp-client's src/sstp-http.c):
 *
 *   HTTP/1.1 200\r\n
 *   Content-Length: 18446744073709551615\r\n
 *   Server: Microsoft-HTTPAPI/2.0\r\n
 *   Date: Thu, 09 Nov 2006 00:51:09 GMT\r\n
 *   \r\n
 *
 * Anything else gets an ordinary HTTP error and the shell closes the connection (§4.1: "the server
 * fails the request by sending an HTTP error code"). Sans-I/O: the date comes in as `now`.
 */

export const SSTP_METHOD = 'SSTP_DUPLEX_POST';
/** §3.2.4.1; compared without regard to case, as the GUID's case varies between clients. */
export const SSTP_URI_PATH = '/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/';
/** ULONGLONG_MAX, the Content-Length of both directions. */
export const SSTP_CONTENT_LENGTH = '18446744073709551615';
/** Request heads longer than this are refused with 431 (RFC 6585 §5). */
export const MAX_REQUEST_HEAD = 8192;

export type HandshakeResult =
  /** No blank line yet: feed more bytes (the head so far is under MAX_REQUEST_HEAD). */
  | { readonly kind: 'incomplete' }
  /** Send `response`; SSTP packets start at byte `headLength` of the input. */
  | { readonly kind: 'sstp'; readonly response: Uint8Array; readonly headLength: number; readonly host: string; readonly correlationId?: string }
  /** Send `response` and close: not an SSTP request. */
  | { readonly kind: 'http'; readonly status: number; readonly response: Uint8Array; readonly why: string };

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  431: 'Request Header Fields Too Large',
  505: 'HTTP Version Not Supported',
};

const httpDate = (now: number): string => new Date(now).toUTCString();

/** The accepting response of §4.1. */
export function sstpResponse(now: number): Uint8Array {
  return Buffer.from(`HTTP/1.1 200\r\nContent-Length: ${SSTP_CONTENT_LENGTH}\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: ${httpDate(now)}\r\n\r\n`, 'latin1');
}

/** A complete, closing HTTP error answer with a one-line text body (none for HEAD). */
export function httpErrorResponse(status: number, now: number, options: { readonly head?: boolean; readonly allow?: string } = {}): Uint8Array {
  const reason = REASONS[status] ?? 'Error';
  const body = `${status} ${reason}\n`;
  const lines = [`HTTP/1.1 ${status} ${reason}`, `Date: ${httpDate(now)}`, 'Content-Type: text/plain; charset=us-ascii', `Content-Length: ${body.length}`, 'Connection: close'];
  if (options.allow) lines.push(`Allow: ${options.allow}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${options.head ? '' : body}`, 'latin1');
}

/** Where the head ends (after its blank line), accepting CRLF or bare LF line ends (RFC 9112 §2.2). */
function headEnd(bytes: Uint8Array, limit: number): number | undefined {
  for (let i = 0; i < limit; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than tab have no place in a request head (RFC 9110 §5.5). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Lower-cased field names to their values, in order. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

function parseHead(text: string): RequestHead | string {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const [requestLine = '', ...fieldLines] = lines;
  const parts = requestLine.split(' ');
  const [method = '', target = '', version = ''] = parts;
  if (parts.length !== 3 || !TOKEN.test(method) || target === '' || CONTROL.test(target) || !/^HTTP\/\d\.\d$/.test(version)) return `malformed request line`;
  const fields = new Map<string, string[]>();
  for (const line of fieldLines) {
    // No whitespace before the colon, no obs-fold continuation lines (RFC 9112 §5.1, §5.2).
    const m = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m || !TOKEN.test(m[1] ?? '') || CONTROL.test(m[2] ?? '')) return `malformed header line`;
    const name = (m[1] ?? '').toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), m[2] ?? '']);
  }
  return { method, target, version, fields };
}

/** The path of an origin-form or absolute-form target, less any query (§3.2.4.1 allows ?tenantid=). */
function pathOf(target: string): string {
  const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
  const rest = absolute ? absolute[1] || '/' : target;
  const query = rest.search(/[?#]/);
  return query < 0 ? rest : rest.slice(0, query);
}

/** Whether the bytes so far can begin a method token, so garbage is refused without waiting for 8 KB. */
function startsLikeMethod(bytes: Uint8Array): boolean {
  for (const byte of bytes.subarray(0, 32)) {
    if (byte === 0x20) return true;
    if (!TOKEN.test(String.fromCharCode(byte))) return false;
  }
  return true;
}

/**
 * Reads the request head at the start of the decrypted stream and says how to answer it.
 * Never throws; `bytes` may hold SSTP packets after the head (reported by `headLength`).
 */
export function answerRequestHead(bytes: Uint8Array, now: number): HandshakeResult {
  const end = headEnd(bytes, Math.min(bytes.length, MAX_REQUEST_HEAD));
  const refuse = (status: number, why: string, options: { readonly head?: boolean; readonly allow?: string } = {}): HandshakeResult => ({
    kind: 'http',
    status,
    response: httpErrorResponse(status, now, options),
    why,
  });
  if (end === undefined && !startsLikeMethod(bytes)) return refuse(400, 'not an HTTP request');
  if (end === undefined) return bytes.length >= MAX_REQUEST_HEAD ? refuse(431, `no end of the request head in ${MAX_REQUEST_HEAD} bytes`) : { kind: 'incomplete' };
  const head = parseHead(Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1'));
  if (typeof head === 'string') return refuse(400, head);
  const isHead = head.method === 'HEAD';
  if (pathOf(head.target).toLowerCase() !== SSTP_URI_PATH.toLowerCase()) return refuse(404, `${head.method} of ${head.target.slice(0, 64)}`, { head: isHead });
  if (head.method !== SSTP_METHOD) return refuse(405, `${head.method} of the SSTP URI`, { head: isHead, allow: SSTP_METHOD });
  if (head.version !== 'HTTP/1.1') return refuse(505, `${head.version}, SSTP wants HTTP/1.1`);
  const host = head.fields.get('host') ?? [];
  if (host.length !== 1 || host[0] === '') return refuse(400, 'HTTP/1.1 needs exactly one Host field (RFC 9112 §3.2)');
  const contentLength = head.fields.get('content-length') ?? [];
  if (contentLength.length !== 1 || contentLength[0] !== SSTP_CONTENT_LENGTH) return refuse(400, `Content-Length must be ${SSTP_CONTENT_LENGTH} (§3.2.4.1)`);
  if (head.fields.has('transfer-encoding')) return refuse(400, 'Transfer-Encoding on an SSTP request');
  const correlation = head.fields.get('sstpcorrelationid')?.[0];
  const base = { kind: 'sstp', response: sstpResponse(now), headLength: end, host: host[0] ?? '' } as const;
  return correlation ? { ...base, correlationId: correlation.slice(0, 80) } : base;
}
