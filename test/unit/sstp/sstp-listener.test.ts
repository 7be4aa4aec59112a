/**
 * The listener as a shell over SstpAdmission, on loopback with an ephemeral port: a refused or evicted
 * connection really is closed by the gateway, the oldest one first, and a stalled one is dropped when
 * admission's timeout says so. Sources are distinct loopback addresses (127.0.0.0/8 is all local).
 * The last test runs the calls' TLS in the driver (issue 23): admission and the doctor's reports hold there too.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { createLogger } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { ktlsUnavailableReason, SstpListener } from '../../../firmware/sstp/sstp-listener.ts';
import type { SstpLimits } from '../../../firmware/sstp/admission.ts';
import { kernelHasTls } from '../../helpers/kernel-tls.ts';

const now = new Date();
const ca = createCa({ commonName: 'listener test CA', validityDays: 2, keyType: 'ecdsa-p256', now });
const cert = issueServerCertificate(ca, { commonName: 'gw', sans: ['gw'], validityDays: 2, now });

async function listen(t: Test, limits: Partial<SstpLimits>): Promise<{ listener: SstpListener; port: number }> {
  const listener = new SstpListener({
    host: '127.0.0.1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger: createLogger({ sink: () => {} }), limits,
    connection: { session: { randomBytes: (n) => new Uint8Array(n) }, createLink: () => ({ lowerUp: () => {}, receiveFrame: () => {}, lowerDown: () => {} }) },
  });
  const { port } = await listener.start();
  t.teardown(() => listener.stop());
  return { listener, port };
}

/**
 * An idle connection from `source`; `closed` settles when the gateway ends it. A reset can beat the
 * connect event on loopback, so a refused one may resolve already closed.
 */
function idle(port: number, source: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: source });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isClosed = async (c: { closed: Promise<void> }, ms = 200) => Promise.race([c.closed.then(() => true), settle(ms).then(() => false)]);

t.test('a source over its limit is closed at once; another source is not', async (t) => {
  const { listener, port } = await listen(t, { perSource: 2, handshakes: 10 });
  const a = await idle(port, '127.0.0.2');
  const b = await idle(port, '127.0.0.2');
  const c = await idle(port, '127.0.0.2');
  const d = await idle(port, '127.0.0.3');
  t.ok(await isClosed(c), 'the third from 127.0.0.2 is closed by the gateway');
  t.notOk(await isClosed(a, 50), 'the first two stay');
  t.notOk(await isClosed(b, 50));
  t.notOk(await isClosed(d, 50), '127.0.0.3 is its own source');
  t.match(listener.counters(), { refusedPerSource: 1, handshakesNow: 3 });
  for (const x of [a, b, d]) x.socket.destroy();
});

t.test('a full handshake budget closes the oldest connection for the newest', async (t) => {
  const { listener, port } = await listen(t, { perSource: 10, handshakes: 3 });
  const first = await idle(port, '127.0.0.4');
  await settle(20);
  const second = await idle(port, '127.0.0.5');
  await settle(20);
  const third = await idle(port, '127.0.0.6');
  await settle(20);
  const fourth = await idle(port, '127.0.0.7');
  t.ok(await isClosed(first), 'the oldest went');
  t.notOk(await isClosed(second, 50), 'the others stay');
  const fifth = await idle(port, '127.0.0.8');
  t.ok(await isClosed(second), 'then the next oldest');
  t.notOk(await isClosed(third, 50));
  t.notOk(await isClosed(fourth, 50));
  t.notOk(await isClosed(fifth, 50), 'the newest is never the one to go');
  t.match(listener.counters(), { evictedOldest: 2, handshakesNow: 3 });
  for (const x of [third, fourth, fifth]) x.socket.destroy();
});

t.test('stalled connections are dropped after the handshake timeout, sooner under pressure', async (t) => {
  const { listener, port } = await listen(t, { perSource: 10, handshakes: 4, handshakeTimeoutMs: 1500, pressureTimeoutMs: 200 });
  const calm = await idle(port, '127.0.0.9');
  t.notOk(await isClosed(calm, 400), 'alone it has the normal timeout');
  const more = await Promise.all(['127.0.0.10', '127.0.0.11'].map((s) => idle(port, s)));
  t.ok(await isClosed(calm, 300), 'three of four is over half: the oldest is cut at the short timeout');
  t.notOk(await isClosed(more[0]!, 300), 'two of four is not over half: the rest are back on the normal timeout');
  t.ok((await isClosed(more[0]!, 1500)) && (await isClosed(more[1]!, 300)), 'which ends them too');
  t.match(listener.counters(), { timedOutUnderPressure: 1, handshakesNow: 0 });
  t.ok(listener.counters().timedOut >= 3);
});

t.test('dual stack (issue 24): the IPv6 address is listened on too, under the same admission (per /64)', async (t) => {
  const listener = new SstpListener({
    host: '127.0.0.1', host6: '::1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger: createLogger({ sink: () => {} }), limits: { perSource: 1, handshakes: 10 },
    connection: { session: { randomBytes: (n) => new Uint8Array(n) }, createLink: () => ({ lowerUp: () => {}, receiveFrame: () => {}, lowerDown: () => {} }) },
  });
  const { port } = await listener.start();
  t.teardown(() => listener.stop());
  t.same(listener.addresses().map((a) => [a.address, a.port]), [['127.0.0.1', port], ['::1', port]], 'both families on one port');
  const open = (host: string) => new Promise<{ socket: Socket; closed: Promise<void> }>((resolve) => {
    const socket = connect({ host, port });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
  const v6 = await open('::1');
  const v6again = await open('::1');
  const v4 = await open('127.0.0.1');
  t.notOk(await isClosed(v6, 50), 'an IPv6 peer is admitted');
  t.ok(await isClosed(v6again), 'a second from the same /64 is over the per-source limit of 1');
  t.notOk(await isClosed(v4, 50), 'an IPv4 peer is its own source');
  t.match(listener.counters(), { refusedPerSource: 1, handshakesNow: 2 });
  for (const x of [v6, v4]) x.socket.destroy();
  await listener.stop();
  t.same(listener.addresses(), [], 'both sockets closed on stop');
});

// Issue 17, the connection doctor: Windows' SSTP client completes TLS, checks the gateway certificate
// (its CRL, its CA, its name) and hangs up without a byte when it refuses it (0x80092013 and kin).
t.test('a TLS client that hangs up without a byte is reported; one that began its request is not; a call broken before it is set up is reported with why', async (t) => {
  const silent: string[] = [];
  const aborted: string[] = [];
  const listener = new SstpListener({
    host: '127.0.0.1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger: createLogger({ sink: () => {} }),
    connection: {
      session: { randomBytes: (n) => new Uint8Array(n) }, createLink: () => ({ lowerUp: () => {}, receiveFrame: () => {}, lowerDown: () => {} }),
      onClosedAfterTls: (peer) => silent.push(peer.address),
      onSetupAborted: (peer, reason) => aborted.push(`${peer.address} ${reason}`),
    },
  });
  const { port } = await listener.start();
  t.teardown(() => listener.stop());
  const dial = (source: string, send?: string) => new Promise<void>((done, fail) => {
    const tcp = connect({ host: '127.0.0.1', port, localAddress: source });
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false }, () => {
      if (send) socket.write(send);
      socket.end();
    });
    socket.on('error', fail);
    socket.on('close', () => done());
  });
  await dial('127.0.0.21');
  // Part of a request head, then the hang-up: a client that spoke, not one that refused the certificate.
  await dial('127.0.0.22', 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n');
  // A whole request, then bytes that are no SSTP packet (version 0x99): the call is aborted before it was set up.
  const broken = tlsConnect({ socket: connect({ host: '127.0.0.1', port, localAddress: '127.0.0.23' }), rejectUnauthorized: false }, () => {
    broken.write(Buffer.from('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n', 'latin1'));
    setTimeout(() => broken.write(Buffer.from([0x99, 0, 0, 8, 0, 1, 0, 0])), 200);
  });
  broken.on('error', () => {});
  for (let i = 0; i < 100 && aborted.length === 0; i++) await settle(50);
  broken.destroy();
  for (let i = 0; i < 100 && listener.counters().handshakesNow > 0; i++) await settle(20);
  t.same(silent, ['127.0.0.21'], 'only the client that said nothing after TLS');
  t.match(aborted, [/^127\.0\.0\.23 SSTP framing lost/], `the broken call, with its reason: ${JSON.stringify(aborted)}`);
});

// Issue 23: the same shell with the calls' TLS in the driver (no hub: TLS and the control stream only).
t.test('on the driver\'s TLS: an unfinished call is removed at admission\'s timeout; the doctor hears of the silent and the broken ones', async (t) => {
  const silent: string[] = [];
  const aborted: string[] = [];
  const listener = new SstpListener({
    host: '127.0.0.1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger: createLogger({ sink: () => {} }), native: {},
    limits: { perSource: 10, handshakes: 10, handshakeTimeoutMs: 1000, pressureTimeoutMs: 1000 }, firstFlightDelayMs: 0,
    connection: {
      session: { randomBytes: (n) => new Uint8Array(n) }, createLink: () => ({ lowerUp: () => {}, receiveFrame: () => {}, lowerDown: () => {} }),
      onClosedAfterTls: (peer) => silent.push(peer.address),
      onSetupAborted: (peer, reason) => aborted.push(`${peer.address} ${reason}`),
    },
  });
  const { port } = await listener.start();
  t.teardown(() => listener.stop());
  const tls = (source: string, onSecure: (s: ReturnType<typeof tlsConnect>) => void) => {
    const socket = tlsConnect({ socket: connect({ host: '127.0.0.1', port, localAddress: source }), rejectUnauthorized: false }, () => onSecure(socket));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.resume(); // read, so the gateway's FIN ends the stream (a paused socket never sees it)
    return { socket, closed, secure: new Promise<string | null>((done) => socket.once('secureConnect', () => done(socket.getProtocol()))) };
  };
  // TLS done, then nothing: the driver holds the unfinished call until admission's timeout removes it.
  const stalled = tls('127.0.0.31', () => {});
  t.equal(await stalled.secure, 'TLSv1.3', 'the driver completed the handshake');
  t.notOk(await isClosed(stalled, 300), 'the unfinished call is held');
  t.ok(await isClosed(stalled, 3000), 'and closed by the gateway at the handshake timeout');
  t.match(listener.counters(), { driverHandovers: 1, timedOut: 1, handshakesNow: 0 });
  // As on Node's TLS: a client that hangs up after TLS without a byte; a whole request, then no SSTP packet.
  const quiet = tls('127.0.0.32', (s) => s.end());
  await quiet.closed;
  const broken = tls('127.0.0.33', (s) => {
    s.write(Buffer.from('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n', 'latin1'));
    setTimeout(() => s.write(Buffer.from([0x99, 0, 0, 8, 0, 1, 0, 0])), 200);
  });
  t.ok(await isClosed(broken, 3000), 'the broken stream is closed by the gateway');
  for (let i = 0; i < 100 && (silent.length === 0 || listener.counters().handshakesNow > 0); i++) await settle(20);
  t.same(silent, ['127.0.0.32'], 'the client that said nothing after TLS is reported');
  t.match(aborted, [/^127\.0\.0\.33 SSTP framing lost/], `the broken call, with its reason: ${JSON.stringify(aborted)}`);
  t.match(listener.counters(), { driverHandovers: 3, handshakesNow: 0 });
  // kTLS (issue 23): each call that finished its handshake tried the switch; without a tls module (this CI) none took.
  const k = listener.counters();
  if (kernelHasTls()) t.ok(k.ktlsCalls >= 1, `the calls' records went to the kernel (${k.ktlsCalls})`);
  else t.ok(k.ktlsCalls === 0 && k.ktlsRxOnly === 0 && k.ktlsFallbacks >= 1, `no tls module: the calls stayed on the driver's OpenSSL (${k.ktlsFallbacks} counted)`);
});

t.test('listeners.sstp.kernelTls off: the driver\'s calls never try kTLS (nothing counted, nothing logged)', async (t) => {
  const lines: string[] = [];
  const listener = new SstpListener({
    host: '127.0.0.1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger: createLogger({ sink: (r) => lines.push(JSON.stringify(r)) }), native: { kernelTls: false },
    limits: { perSource: 10, handshakes: 10, handshakeTimeoutMs: 1000, pressureTimeoutMs: 1000 }, firstFlightDelayMs: 0,
    connection: { session: { randomBytes: (n) => new Uint8Array(n) }, createLink: () => ({ lowerUp: () => {}, receiveFrame: () => {}, lowerDown: () => {} }) },
  });
  const { port } = await listener.start();
  t.teardown(() => listener.stop());
  const socket = tlsConnect({ socket: connect({ host: '127.0.0.1', port }), rejectUnauthorized: false });
  socket.on('error', () => {});
  t.equal(await new Promise((done) => socket.once('secureConnect', () => done(socket.getProtocol()))), 'TLSv1.3', 'the driver completed the handshake');
  socket.end();
  for (let i = 0; i < 100 && listener.counters().handshakesNow > 0; i++) await settle(20);
  t.match(listener.counters(), { driverHandovers: 1, ktlsCalls: 0, ktlsRxOnly: 0, ktlsFallbacks: 0 }, 'no switch tried');
  t.notOk(lines.some((l) => l.includes('kTLS unavailable')), 'and no "kTLS unavailable" line');
});

t.test('kTLS: why the kernel does not take a call\'s records, from the driver\'s errno', async (t) => {
  t.equal(ktlsUnavailableReason(2), 'the kernel has no tls module (ENOENT)');
  t.equal(ktlsUnavailableReason(95), 'the negotiated suite is not one kTLS takes (EOPNOTSUPP)');
  t.equal(ktlsUnavailableReason(16), 'setsockopt failed (EBUSY)');
  t.equal(ktlsUnavailableReason(99999), 'errno 99999');
});
