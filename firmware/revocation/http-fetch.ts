import { request } from 'node:http';

/**
 * One HTTP exchange for a CRL or an OCSP answer (RFC 5280 §4.2.1.13, RFC 6960 Appendix A.1): plain
 * http: only, one overall deadline, the body capped, no redirects followed. Resolves with the body
 * or rejects with why not; the caller treats any failure as "no answer".
 */
export interface FetchOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly method?: 'GET' | 'POST';
  readonly body?: Uint8Array;
  readonly contentType?: string;
}

export const DEFAULT_FETCH: FetchOptions = { timeoutMs: 5_000, maxBytes: 1024 * 1024 };

export function httpFetch(url: string, options: FetchOptions = DEFAULT_FETCH): Promise<Buffer> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new Error(`not a URL: ${url}`));
  }
  if (target.protocol !== 'http:') return Promise.reject(new Error(`only http: URLs are fetched, not ${target.protocol}`));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'user-agent': 'postern-revocation' };
    if (options.body) Object.assign(headers, { 'content-type': options.contentType ?? 'application/octet-stream', 'content-length': options.body.length });
    const req = request(target, { method: options.method ?? 'GET', headers });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    let settled = false;
    const done = (error: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(body!);
    };
    req.on('error', (e) => done(e));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return req.destroy(new Error(`HTTP ${res.statusCode}`));
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > options.maxBytes) return req.destroy(new Error(`larger than ${options.maxBytes} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > options.maxBytes) return req.destroy(new Error(`larger than ${options.maxBytes} bytes`));
        chunks.push(c);
      });
      res.on('end', () => (size > options.maxBytes ? undefined : done(undefined, Buffer.concat(chunks))));
      res.on('error', (e) => done(e));
    });
    req.end(options.body);
  });
}
