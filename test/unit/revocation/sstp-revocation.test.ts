// Postern's SSTP client checks the gateway's certificate for revocation (issue 16) after TLS and
// before its HTTP request: a revoked gateway is refused with the reason and never sees the request, a
// good one gets it; a pinned certificate is not checked. TLS and the CRL's HTTP both on loopback.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import t, { type Test } from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { RevocationService } from '../../../firmware/revocation/revocation-service.ts';
import { tlsRevocationCheck } from '../../../firmware/revocation/tls-peer.ts';
import { SstpDialer } from '../../../firmware/sstp/client/sstp-dialer.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { makeRevocationPki, type IssuedLeaf } from '../../lab/revocation-pki.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed');

async function listen(t: Test, server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown; close(): unknown }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  return (server.address() as AddressInfo).port;
}

/** A TLS server with `leaf` that records the first bytes a client sends. */
async function gateway(t: Test, leaf: IssuedLeaf) {
  const seen: string[] = [];
  const server = createTlsServer({ cert: leaf.certificatePem, key: leaf.keyPem }, (socket) => {
    socket.on('data', (d: Buffer) => seen.push(d.toString('latin1')));
    socket.on('error', () => undefined);
    t.teardown(() => socket.destroy());
  });
  return { port: await listen(t, server), seen };
}

t.test('SSTP client: a revoked gateway certificate ends the call before the request; a good one gets it', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  let crl: Buffer = Buffer.alloc(0);
  const http = createServer((_req, res) => res.writeHead(200).end(crl));
  const crlUrl = `http://127.0.0.1:${await listen(t, http)}/ca.crl`;
  const revoked = pki.issue('localhost', { crl: crlUrl });
  const good = pki.issue('localhost', { crl: crlUrl });
  crl = pki.crl([{ serialHex: revoked.serialHex, revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000) }]);
  const { sink, records } = memorySink();
  const logger = createLogger({ sink });
  const service = new RevocationService({ log: logger, trusted: [{ ca: new X509Certificate(pki.ca.certificatePem), policy: 'hard' }] });
  t.teardown(() => service.close());
  const dial = (port: number, pin?: string) => new SstpDialer({
    host: '127.0.0.1', servername: 'localhost', port, user: 'alice', password: new Secret('x'), logger,
    ...(pin ? { fingerprint: pin } : { ca: pki.ca.certificatePem }), checkRevocation: tlsRevocationCheck(service, logger),
  });

  const bad = await gateway(t, revoked);
  const refused = dial(bad.port);
  t.match(await refused.closed, new RegExp(`server certificate 'CN=localhost' serial ${revoked.serialHex} is revoked \\(CRL from ${crlUrl.replace(/\./g, '\\.')}, revoked at `));
  t.same(bad.seen, [], 'the revoked gateway never saw the request');

  const ok = await gateway(t, good);
  const accepted = dial(ok.port);
  for (let i = 0; i < 100 && ok.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.match(ok.seen.join(''), /^SSTP_DUPLEX_POST /, 'the good gateway got the request');
  accepted.disconnect();

  const pinned = await gateway(t, revoked);
  const byPin = dial(pinned.port, new X509Certificate(revoked.certificatePem).fingerprint256);
  for (let i = 0; i < 100 && pinned.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.match(pinned.seen.join(''), /^SSTP_DUPLEX_POST /, 'a pinned certificate: the pin is the trust, not checked');
  byPin.disconnect();
  t.notOk(records.some((r) => r.level === 'error'), 'no errors logged');
});
