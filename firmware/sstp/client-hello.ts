/**
 * What the listener needs from a TLS ClientHello before TLS starts (issue 16, RFC 8737 tls-alpn-01):
 * the server name (RFC 6066 §3) and the ALPN protocols offered (RFC 7301 §3.1). Validate, then read:
 * every length is checked against the bytes left; peer input never throws.
 *
 *   TLSPlaintext (RFC 8446 §5.1): type(1)=22 version(2) length(2) fragment
 *   Handshake (§4): msg_type(1)=1 length(3) ClientHello
 *   ClientHello (§4.1.2): legacy_version(2) random(32) session_id<0..32>
 *     cipher_suites<2..2^16-2> compression_methods<1..2^8-1> extensions<8..2^16-1>
 *   Extension: type(2) extension_data<0..2^16-1>
 *     server_name (0): ServerNameList<1..2^16-1> of name_type(1)=0 HostName<1..2^16-1>
 *     application_layer_protocol_negotiation (16): ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>
 */

export interface ClientHelloInfo {
  readonly serverName: string | undefined;
  readonly alpn: readonly string[];
}

export type ClientHelloResult = { readonly ok: true; readonly hello: ClientHelloInfo } | { readonly ok: false; readonly why: string };

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

class Reader {
  #at: number;
  constructor(readonly bytes: Uint8Array, at: number, readonly end: number) {
    this.#at = at;
  }
  get left(): number {
    return this.end - this.#at;
  }
  get at(): number {
    return this.#at;
  }
  /** An unsigned big-endian integer of n bytes, or undefined when fewer are left. */
  uint(n: number): number | undefined {
    if (this.left < n) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.bytes[this.#at + i]!;
    this.#at += n;
    return v;
  }
  /** A sub-reader over a vector with an n-byte length prefix. */
  vector(n: number): Reader | undefined {
    const len = this.uint(n);
    if (len === undefined || this.left < len) return undefined;
    const sub = new Reader(this.bytes, this.#at, this.#at + len);
    this.#at += len;
    return sub;
  }
  skip(n: number): boolean {
    if (this.left < n) return false;
    this.#at += n;
    return true;
  }
}

const fail = (why: string): ClientHelloResult => ({ ok: false, why });

/** Reads the ClientHello from the first TLS record (a hello split over records reads as incomplete). */
export function decodeClientHello(bytes: Uint8Array): ClientHelloResult {
  const record = new Reader(bytes, 0, bytes.length);
  if (record.uint(1) !== 22) return fail('not a handshake record');
  if (!record.skip(2)) return fail('short record header');
  const fragment = record.vector(2);
  if (!fragment) return fail('incomplete record');
  if (fragment.uint(1) !== 1) return fail('not a ClientHello');
  const body = fragment.vector(3);
  if (!body) return fail('incomplete ClientHello');
  if (!body.skip(2 + 32) || !body.vector(1) || !body.vector(2) || !body.vector(1)) return fail('truncated ClientHello');
  if (body.left === 0) return { ok: true, hello: { serverName: undefined, alpn: [] } };
  const extensions = body.vector(2);
  if (!extensions) return fail('truncated extensions');
  let serverName: string | undefined;
  const alpn: string[] = [];
  while (extensions.left > 0) {
    const type = extensions.uint(2);
    const data = extensions.vector(2);
    if (type === undefined || !data) return fail('truncated extension');
    if (type === EXT_SERVER_NAME) serverName = readServerName(data) ?? serverName;
    else if (type === EXT_ALPN && !readAlpn(data, alpn)) return fail('malformed ALPN extension');
  }
  return { ok: true, hello: { serverName, alpn } };
}

function readServerName(data: Reader): string | undefined {
  const list = data.vector(2);
  while (list && list.left > 0) {
    const type = list.uint(1);
    const name = list.vector(2);
    if (type === undefined || !name) return undefined;
    if (type === 0) return Buffer.from(name.bytes.subarray(name.at, name.end)).toString('latin1').toLowerCase();
  }
  return undefined;
}

function readAlpn(data: Reader, out: string[]): boolean {
  const list = data.vector(2);
  if (!list) return false;
  while (list.left > 0) {
    const name = list.vector(1);
    if (!name) return false;
    out.push(Buffer.from(name.bytes.subarray(name.at, name.end)).toString('latin1'));
  }
  return true;
}
