import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublicationPath } from './publication-urls.ts';

/**
 * The publication listener (issue 16): plain HTTP on the WAN side serving exactly the CRL and the
 * CA certificate named in issued certificates, and nothing else. It faces the internet unauthenticated,
 * so it parses as little as Node lets it: small headers, short timeouts, no bodies read, two routes.
 */

export interface PublishedFiles {
  /** The DER CRL, or undefined while none is published. */
  crl(): Buffer | undefined;
  /** The DER CA certificate. */
  caCertificate(): Buffer | undefined;
  /** An HTTP-01 key authorization for the path (RFC 8555 §8.3), when ACME is ordering. */
  acmeChallenge?(path: string): string | undefined;
}

export interface PublicationCounters {
  requests: number;
  crl: number;
  caCertificate: number;
  acmeChallenge: number;
  notFound: number;
  badMethod: number;
  unavailable: number;
  /** Malformed requests and header timeouts, answered by Node before routing. */
  clientErrors: number;
}

export interface PublicationAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Which counter it adds to. */
  readonly counted: Exclude<keyof PublicationCounters, 'requests' | 'clientErrors'>;
}

const text = (status: number, message: string, counted: PublicationAnswer['counted'], extra: Record<string, string> = {}): PublicationAnswer => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', ...extra },
  body: Buffer.from(`${message}\n`),
  counted,
});

/**
 * What to answer (pure). Paths match exactly, query strings included: the URL in the certificate
 * is the only one a client has. RFC 2585 §3/§4 name the media types; the CRL is never cached by
 * intermediaries for long because a revocation republishes it at once.
 */
export function answerPublication(method: string | undefined, url: string | undefined, files: PublishedFiles): PublicationAnswer {
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'method not allowed', 'badMethod', { Allow: 'GET, HEAD' });
  // RFC 8555 §8.3: the key authorization as application/octet-stream, only while a challenge is pending.
  const keyAuthorization = url === undefined ? undefined : files.acmeChallenge?.(url);
  if (keyAuthorization !== undefined) return { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' }, body: Buffer.from(keyAuthorization), counted: 'acmeChallenge' };
  const file =
    url === PublicationPath.crl ? { body: files.crl(), type: 'application/pkix-crl', cache: 'max-age=60', counted: 'crl' as const }
    : url === PublicationPath.caCertificate ? { body: files.caCertificate(), type: 'application/pkix-cert', cache: 'max-age=86400', counted: 'caCertificate' as const }
    : undefined;
  if (file === undefined) return text(404, 'not found', 'notFound');
  if (file.body === undefined) return text(503, 'not published yet', 'unavailable', { 'Retry-After': '60' });
  return { status: 200, headers: { 'Content-Type': file.type, 'Cache-Control': file.cache }, body: file.body, counted: file.counted };
}

/** Limits of a listener open to anyone: a CRL fetch is one small GET. */
export interface PublicationLimits {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly keepAliveMs: number;
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
}

export const DEFAULT_PUBLICATION_LIMITS: PublicationLimits = { headersMs: 5_000, requestMs: 10_000, keepAliveMs: 2_000, maxConnections: 256, maxHeaderBytes: 4096 };

/** The HTTP shell over `answerPublication`. */
export class PublicationServer {
  readonly counters: PublicationCounters = { requests: 0, crl: 0, caCertificate: 0, acmeChallenge: 0, notFound: 0, badMethod: 0, unavailable: 0, clientErrors: 0 };
  readonly #files: PublishedFiles;
  readonly #limits: PublicationLimits;
  #server: Server | undefined;

  constructor(files: PublishedFiles, limits: Partial<PublicationLimits> = {}) {
    this.#files = files;
    this.#limits = { ...DEFAULT_PUBLICATION_LIMITS, ...limits };
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    const l = this.#limits;
    const server = createServer(
      { headersTimeout: l.headersMs, requestTimeout: l.requestMs, keepAliveTimeout: l.keepAliveMs, maxHeaderSize: l.maxHeaderBytes, connectionsCheckingInterval: 1_000 },
      (req, res) => this.#handle(req, res),
    );
    server.maxConnections = l.maxConnections;
    server.on('clientError', (_error, socket) => {
      this.counters.clientErrors++;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // '::' is both families (dual stack): libuv clears IPV6_V6ONLY whatever the sysctl says.
      server.listen({ port, host, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    return server.address() as AddressInfo;
  }

  address(): AddressInfo | undefined {
    return (this.#server?.address() as AddressInfo | null) ?? undefined;
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.counters.requests++;
    const answer = answerPublication(req.method, req.url, this.#files);
    this.counters[answer.counted]++;
    // A request body is never read; closing after an answer to one keeps it from lingering.
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    res.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(answer.body.length), 'X-Content-Type-Options': 'nosniff', ...(hasBody ? { Connection: 'close' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }
}

/**
 * A file read again only when it was replaced (atomic writes give it a new inode), so a flood of
 * fetches costs one stat each; `transform` turns the bytes into what is served.
 */
export class FileCache {
  readonly #path: string;
  readonly #transform: (bytes: Buffer) => Buffer;
  #key = '';
  #value: Buffer | undefined;

  constructor(path: string, transform: (bytes: Buffer) => Buffer = (b) => b) {
    this.#path = path;
    this.#transform = transform;
  }

  current(): Buffer | undefined {
    try {
      const st = statSync(this.#path);
      const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
      if (key !== this.#key || this.#value === undefined) {
        this.#value = this.#transform(readFileSync(this.#path));
        this.#key = key;
      }
      return this.#value;
    } catch {
      return undefined;
    }
  }
}

/** ca.pem to the DER certificate AIA caIssuers points to (RFC 5280 §4.2.2.1: a single DER certificate). */
export const pemToDerCertificate = (pem: Buffer): Buffer => new X509Certificate(pem).raw;
