// The RadSec connection shell (RFC 6614) on loopback with node:tls servers (ephemeral ports): a
// refused port reports down at once and, within the backoff, later sends fail without a new
// attempt; a server certificate from another CA or for another address is refused; a good server
// gets the packet and its answer comes back framed; the server closing an idle connection is not a
// failure and the next send connects again; Postern's client certificate is what the server sees.
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueClientCertificate, issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { RadsecLink } from '../../../firmware/radius/radsec-link.ts';

const now = new Date();
const ca = createCa({ commonName: 'Test RADIUS CA', validityDays: 2, keyType: 'ecdsa-p256', now });
const other = createCa({ commonName: 'Other CA', validityDays: 2, keyType: 'ecdsa-p256', now });
const server = issueServerCertificate(ca, { commonName: '127.0.0.1', sans: ['127.0.0.1'], validityDays: 2, keyType: 'ecdsa-p256', now });
const wrongName = issueServerCertificate(ca, { commonName: '127.0.0.2', sans: ['127.0.0.2'], validityDays: 2, keyType: 'ecdsa-p256', now });
const stranger = issueServerCertificate(other, { commonName: '127.0.0.1', sans: ['127.0.0.1'], validityDays: 2, keyType: 'ecdsa-p256', now });
const client = issueClientCertificate(ca, { commonName: 'postern-nas', validityDays: 2, keyType: 'ecdsa-p256', now });
const packet = (id: number) => { const p = new Uint8Array(20); p[0] = 1; p[1] = id; p[3] = 20; return p; };
type Teardowns = { teardown(fn: () => void): void };
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TLS server that answers each packet with a copy of it, code 2. */
async function tlsServer(cert: { certificatePem: string; keyPem: { reveal(): string } }, t: Teardowns) {
  const sockets: TLSSocket[] = [];
  const peers: string[] = [];
  const s = createServer({ cert: cert.certificatePem, key: cert.keyPem.reveal(), ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    sockets.push(socket);
    peers.push(String(socket.getPeerCertificate().subject?.CN));
    socket.on('data', (d: Buffer) => { const out = Buffer.from(d); out[0] = 2; socket.write(out); });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => { for (const x of sockets) x.destroy(); s.close(); });
  return { port: (s.address() as AddressInfo).port, sockets, peers };
}

function link(port: number, t: Teardowns, now?: () => number) {
  const got: Uint8Array[] = [];
  const downs: string[] = [];
  const l = new RadsecLink({ server: 's', address: '127.0.0.1', port, tls: { ca: ca.certificatePem, certificate: client.certificatePem, key: client.keyPem }, onPacket: (p) => got.push(p), onDown: (w) => downs.push(w), connectTimeoutMs: 2000, backoffMs: { initial: 300, max: 1000 }, ...(now ? { now } : {}) });
  t.teardown(() => l.close());
  return { l, got, downs };
}

t.test('refused: down at once, then no new attempt within the backoff, then one after it', async (t) => {
  // An ephemeral port just let go of: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const freed = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  // The backoff on a stepped clock: a loaded machine's timers cannot move the test past it.
  let clock = 1_000_000;
  const dead = link(freed, t, () => clock);
  const downs = async (n: number) => {
    for (let i = 0; i < 500 && dead.downs.length < n; i++) await tick(10);
  };
  dead.l.send(packet(1));
  await downs(1);
  t.equal(dead.downs.length, 1, `told: ${dead.downs[0]}`);
  clock += 299;
  dead.l.send(packet(2));
  await downs(2);
  t.equal(dead.downs.length, 2);
  t.match(dead.downs[1], /next try in 1 ms/, 'within the backoff: failed without connecting');
  clock += 1;
  dead.l.send(packet(3));
  await downs(3);
  t.match(dead.downs[2], /ECONNREFUSED/, 'after the backoff: tried again');
  t.equal(dead.l.connects, 0);
});

t.test('a certificate from another CA, or for another address, is refused', async (t) => {
  for (const cert of [stranger, wrongName]) {
    const { port } = await tlsServer(cert, t);
    const { l, downs, got } = link(port, t);
    l.send(packet(1));
    await tick(500);
    t.equal(got.length, 0);
    t.equal(l.connects, 0);
    t.match(downs[0], cert === stranger ? /certificate/i : /IP: 127\.0\.0\.1 is not in the cert's list|altnames/i, downs[0] ?? 'no failure');
  }
});

t.test('a good server: answers framed, its idle close is quiet, the next send reconnects', async (t) => {
  const srv = await tlsServer(server, t);
  const { l, got, downs } = link(srv.port, t);
  l.send(packet(7));
  l.send(packet(8));
  await tick(500);
  t.same(got.map((p) => [p[0], p[1]]), [[2, 7], [2, 8]], 'both answers, in order');
  t.same(srv.peers, ['postern-nas'], 'the server saw Postern\'s client certificate');
  srv.sockets[0]!.end();
  await tick(200);
  t.same(downs, [], 'an idle close is not a failure');
  l.send(packet(9));
  await tick(500);
  t.equal(l.connects, 2, 'connected again on demand');
  t.same(got.at(-1)?.[1], 9);
});
