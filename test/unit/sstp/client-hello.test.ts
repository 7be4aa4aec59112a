import fc from 'fast-check';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import t from 'tap';
import { decodeClientHello } from '../../../firmware/sstp/client-hello.ts';

/** A real ClientHello: Node's TLS client connecting to a TCP server on loopback that only listens. */
async function captureHello(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  const server = createServer();
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...options });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

t.test('reads the server name and the ALPN list from a real ClientHello (RFC 6066 §3, RFC 7301 §3.1)', async (t) => {
  const hello = await captureHello({ servername: 'VPN.example.com', ALPNProtocols: ['acme-tls/1'] });
  t.same(decodeClientHello(hello), { ok: true, hello: { serverName: 'vpn.example.com', alpn: ['acme-tls/1'] } });
  const plain = await captureHello({ ALPNProtocols: ['h2', 'http/1.1'] });
  t.same(decodeClientHello(plain), { ok: true, hello: { serverName: undefined, alpn: ['h2', 'http/1.1'] } });
});

t.test('a truncated hello, another record type or a lying length is refused, never thrown', async (t) => {
  const hello = await captureHello({ servername: 'vpn.example.com', ALPNProtocols: ['acme-tls/1'] });
  for (const cut of [0, 1, 5, 9, 44, hello.length - 1]) t.equal(decodeClientHello(hello.subarray(0, cut)).ok, false, `cut at ${cut}`);
  const alert = Buffer.from(hello);
  alert[0] = 21;
  t.same(decodeClientHello(alert), { ok: false, why: 'not a handshake record' });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => void decodeClientHello(b)));
  fc.assert(fc.property(fc.integer({ min: 0, max: hello.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
    const m = Buffer.from(hello);
    m[i] = v;
    decodeClientHello(m);
  }));
});
