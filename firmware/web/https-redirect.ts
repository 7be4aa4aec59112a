/**
 * HTTPS and plain HTTP on one port (issue 17): a connection whose first byte is a TLS handshake record
 * (RFC 8446 §5.1, content type 22) goes to the HTTPS server; anything else is plain HTTP and gets a
 * redirect to the same address over HTTPS. So a technician who types the box's address without
 * https:// still lands on the encrypted page, and no second port is needed.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

const TLS_HANDSHAKE = 0x16;

/** A listening server with the http.Server methods the web subsystem uses to stop it. */
export interface FrontServer extends NetServer {
  closeAllConnections(): void;
}

/** Where a plain-HTTP request is sent: the same host (and port) and path over HTTPS. */
export function httpsLocation(host: string | undefined, url: string | undefined): string | undefined {
  // The Host allow-list has already refused names the box does not answer to; this only checks syntax.
  if (!host || !/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host)) return undefined;
  const path = url?.startsWith('/') ? url : '/';
  return `https://${host}${path}`;
}

export function httpsWithRedirect(tls: HttpsServer, options: { headersMs: number; allowsHost: (host: string | undefined) => boolean; limits: Record<string, number> }): FrontServer {
  const redirect: HttpServer = createHttpServer(options.limits, (req: IncomingMessage, res: ServerResponse) => {
    const to = options.allowsHost(req.headers.host) ? httpsLocation(req.headers.host, req.url) : undefined;
    res.setHeader('Connection', 'close');
    if (!to) {
      res.writeHead(421, { 'Content-Type': 'text/plain' });
      return void res.end('use https:// and the gateway\'s own name or address\n');
    }
    res.writeHead(308, { Location: to, 'Content-Type': 'text/plain' });
    res.end(`this gateway answers over HTTPS: ${to}\n`);
  });
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Nothing sent within the header timeout: the slowloris rule of the servers behind applies here too.
    const timer = setTimeout(() => socket.destroy(), options.headersMs);
    socket.once('data', (first: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? tls : redirect).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  }) as FrontServer;
  front.closeAllConnections = () => {
    for (const s of sockets) s.destroy();
    tls.closeAllConnections();
    redirect.closeAllConnections();
  };
  return front;
}
