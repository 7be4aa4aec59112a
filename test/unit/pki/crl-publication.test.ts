// Issue 16: the CRL kept signed (half-life timer, republish on revocation) and the publication
// listener that serves exactly it and the CA certificate. Loopback, port 0, fake clock and timers.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { caFingerprint, CRL_VALIDITY_DAYS, crlPaths, crlRefreshAt, crlStaleness, ensureCrl, publishCrl, readCrlInfo, revokedDigest } from '../../../firmware/pki/crl-store.ts';
import { issueClientCertificate } from '../../../firmware/pki/issue.ts';
import { loadIssued, saveIssued } from '../../../firmware/pki/issued-registry.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { answerPublication, PublicationServer } from '../../../firmware/pki/publication-server.ts';
import { MAX_CRL_CHECK_MS, PublicationSubsystem, publicationSpec, type Timers } from '../../../firmware/pki/publication-subsystem.ts';

const day = 86_400_000;
const hour = 3_600_000;
const log = createLogger({ sink: () => {} });
const dir = mkdtempSync(join(tmpdir(), 'postern-crlpub-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newState = () => join(dir, `state${n++}`);
const config = (): PosternConfig => {
  const c = defaultConfig();
  c.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com'] };
  return c;
};
const t0 = new Date('2026-03-01T12:00:00Z');

/** A plain HTTP request to the listener; resolves with status, headers and body. */
function fetch(port: number, method: string, path: string): Promise<{ status: number; type: string | undefined; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('answerPublication: exactly two paths, GET and HEAD, the RFC 2585 media types', async (t) => {
  const files = { crl: () => Buffer.from('crl'), caCertificate: () => Buffer.from('ca') };
  t.match(answerPublication('GET', '/pki/ca.crl', files), { status: 200, headers: { 'Content-Type': 'application/pkix-crl' }, counted: 'crl' });
  t.match(answerPublication('HEAD', '/pki/ca.crt', files), { status: 200, headers: { 'Content-Type': 'application/pkix-cert' }, counted: 'caCertificate' });
  for (const path of ['/', '/pki/ca.crl?x=1', '/pki/ca.crl/', '/PKI/CA.CRL', '/pki/../pki/ca.crl', '/healthz', '/api/v1/session', 'http://x/pki/ca.crl']) {
    t.equal(answerPublication('GET', path, files).status, 404, `404 for ${path}`);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', undefined]) {
    t.match(answerPublication(method, '/pki/ca.crl', files), { status: 405, headers: { Allow: 'GET, HEAD' } }, `405 for ${String(method)}`);
  }
  t.match(answerPublication('GET', '/pki/ca.crl', { crl: () => undefined, caCertificate: () => undefined }), { status: 503, counted: 'unavailable' });
});

t.test('CRL store: numbers grow even within one second, staleness reasons, half-life', async (t) => {
  const state = newState();
  const pki = loadOrCreatePki(state, config().certificates, log, t0);
  const a = publishCrl(state, pki.ca, t0);
  const b = publishCrl(state, pki.ca, t0);
  t.equal(a.crlNumber, BigInt(t0.getTime() / 1000), 'the seconds of now');
  t.equal(b.crlNumber, a.crlNumber + 1n, 'the next one in the same second is one more (RFC 5280 §5.2.3)');
  t.equal(b.nextUpdate.getTime() - b.signedAt.getTime(), CRL_VALIDITY_DAYS * day);
  t.equal(crlRefreshAt(b).getTime(), t0.getTime() + 3.5 * day, 're-signed at half-life');
  const want = { caFingerprint: caFingerprint(pki.ca), revokedDigest: revokedDigest([]) };
  const info = readCrlInfo(state);
  t.equal(info?.crlNumber, b.crlNumber, 'read back');
  t.equal(crlStaleness(info, want, new Date(t0.getTime() + 3.5 * day - 1)), undefined, 'good until half-life');
  t.equal(crlStaleness(info, want, new Date(t0.getTime() + 3.5 * day)), 'half its validity has passed');
  t.equal(crlStaleness(info, { ...want, revokedDigest: 'x' }, t0), 'the revocations changed');
  t.equal(crlStaleness(info, { ...want, caFingerprint: 'x' }, t0), 'the CA changed');
  t.equal(crlStaleness(undefined, want, t0), 'none published yet');
  t.equal(crlStaleness(info, want, new Date(t0.getTime() - hour)), 'the clock went back');

  // A revocation written to the registry without a publish (a crash between) is caught by ensureCrl.
  const client = issueClientCertificate(pki.ca, { commonName: 'alice', validityDays: 30, now: t0 });
  saveIssued(state, [{ name: 'alice', serialHex: client.serialHex, notAfter: t0.toISOString(), revokedAt: t0.toISOString() }]);
  const ensured = ensureCrl(state, pki.ca, new Date(t0.getTime() + 1000));
  t.equal(ensured.resigned, 'the revocations changed');
  t.ok(ensured.crl.crlNumber > b.crlNumber);
  t.equal(ensureCrl(state, pki.ca, new Date(t0.getTime() + 2000)).resigned, undefined, 'then left alone');
  t.equal(loadIssued(state).length, 1);
});

t.test('PublicationServer on loopback: DER bodies, HEAD without body, 404/405, counters', async (t) => {
  let crl = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const server = new PublicationServer({ crl: () => crl, caCertificate: () => Buffer.from([0x30, 0x00]) });
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const got = await fetch(port, 'GET', '/pki/ca.crl');
  t.equal(got.status, 200);
  t.equal(got.type, 'application/pkix-crl');
  t.same(got.body, crl);
  const head = await fetch(port, 'HEAD', '/pki/ca.crt');
  t.equal(head.status, 200);
  t.equal(head.type, 'application/pkix-cert');
  t.equal(head.headers['content-length'], '2', 'HEAD gives the length');
  t.equal(head.body.length, 0, 'and no body');
  crl = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x02]);
  t.same((await fetch(port, 'GET', '/pki/ca.crl')).body, crl, 'whatever is published now');
  t.equal((await fetch(port, 'GET', '/index.html')).status, 404);
  t.equal((await fetch(port, 'POST', '/pki/ca.crl')).status, 405);
  t.match(server.counters, { requests: 5, crl: 2, caCertificate: 1, notFound: 1, badMethod: 1 });
});

t.test('PublicationServer: a stalled request is dropped and oversized headers refused', async (t) => {
  const server = new PublicationServer({ crl: () => undefined, caCertificate: () => undefined }, { headersMs: 300, requestMs: 600, maxHeaderBytes: 1024 });
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const started = Date.now();
  const closed = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /pki/ca.crl HTTP/1.1\r\nHost: x\r\n')); // never finished
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
  const took = Date.now() - started;
  t.ok(took < 5_000, `closed after ${took} ms, not left open (Node checks every second)`);
  t.notMatch(closed, /200 OK/, 'nothing served');
  const big = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET /pki/ca.crl HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(4000)}\r\n\r\n`));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
  });
  t.notMatch(big, /200 OK/, 'oversized headers are not answered with a file');
  t.ok(server.counters.clientErrors >= 2, `counted (${server.counters.clientErrors})`);
});

/** Timers that only fire when the test says so, with the delay they were set for. */
function manualTimers(): Timers & { pending: Array<{ fn: () => void; ms: number }>; fire(): number } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    set: (fn, ms) => {
      const entry = { fn, ms };
      pending.push(entry);
      return entry;
    },
    clear: (h) => {
      const i = pending.indexOf(h as { fn: () => void; ms: number });
      if (i >= 0) pending.splice(i, 1);
    },
    fire() {
      const next = pending.shift();
      if (!next) throw new Error('no timer set');
      next.fn();
      return next.ms;
    },
  };
}

t.test('PublicationSubsystem: the CRL timer re-signs at half-life, not before; serves what the API republishes', async (t) => {
  const state = newState();
  let clock = t0.getTime();
  const timers = manualTimers();
  const cfg = config();
  const ca = () => loadOrCreatePki(state, cfg.certificates, log, new Date(clock)).ca;
  const sub = new PublicationSubsystem({ logger: log, stateDir: state, ca, clock: () => clock, timers, override: { host: '127.0.0.1', port: 0 } });
  await sub.start(cfg);
  t.teardown(() => sub.stop());
  t.equal(sub.status().state, 'running');
  t.equal(sub.counters.crlSigned, 1, 'signed at start (none yet)');
  const first = sub.crl()!;
  t.equal(timers.pending.length, 1, 'one timer');
  t.equal(timers.pending[0]!.ms, MAX_CRL_CHECK_MS, 'the next look within 6 hours (half-life is 3.5 days away)');

  // The clock moves by the timer's delay, then the timer fires.
  const advance = () => {
    clock += timers.pending[0]!.ms;
    timers.fire();
  };
  // Every 6 hours until half-life: left alone; at half-life: signed again.
  let looks = 0;
  while (clock + MAX_CRL_CHECK_MS < crlRefreshAt(first).getTime()) {
    advance();
    looks++;
  }
  t.equal(sub.counters.crlSigned, 1, `${looks} looks before half-life sign nothing`);
  t.ok(timers.pending[0]!.ms <= MAX_CRL_CHECK_MS && timers.pending[0]!.ms > 0, 'the last sleep ends at half-life');
  advance();
  t.equal(clock, crlRefreshAt(first).getTime(), 'woken exactly at half-life');
  t.equal(sub.counters.crlSigned, 2, 're-signed at half-life');
  const second = sub.crl()!;
  t.ok(second.crlNumber > first.crlNumber);
  t.equal(second.nextUpdate.getTime(), clock + CRL_VALIDITY_DAYS * day, 'a fresh nextUpdate, 7 days on');
  t.ok(second.nextUpdate.getTime() - first.nextUpdate.getTime() === 3.5 * day, 'so a client never holds a CRL with less than half its life');

  const port = sub.address()!.port;
  const served = await fetch(port, 'GET', '/pki/ca.crl');
  t.equal(served.status, 200);
  t.same(served.body, readFileSync(crlPaths(state).der), 'the published file');
  const caServed = await fetch(port, 'GET', '/pki/ca.crt');
  t.same(caServed.body, new X509Certificate(ca().certificatePem).raw, 'the DER CA certificate');
  // The API's revocation republishes; the listener serves the new file on the next request.
  const client = issueClientCertificate(ca(), { commonName: 'bob', validityDays: 30, now: new Date(clock) });
  saveIssued(state, [{ name: 'bob', serialHex: client.serialHex, notAfter: new Date(clock + 30 * day).toISOString(), revokedAt: new Date(clock).toISOString() }]);
  const republished = publishCrl(state, ca(), new Date(clock));
  t.same((await fetch(port, 'GET', '/pki/ca.crl')).body, republished.der, 'served at once after a revocation');
  t.not(Buffer.compare(republished.der, served.body), 0, 'and it is a different CRL');
  t.match(sub.status().counters, { crl: 2, caCertificate: 1, crlSigned: 2 });
});

t.test('PublicationSubsystem: a port it cannot bind leaves it unavailable at start, and refuses a move', async (t) => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => holder.close());
  const busy = (holder.address() as AddressInfo).port;
  const state = newState();
  const cfg = config();
  const ca = () => loadOrCreatePki(state, cfg.certificates, log, t0).ca;
  const sub = new PublicationSubsystem({ logger: log, stateDir: state, ca, clock: () => t0.getTime(), timers: manualTimers(), override: { host: '127.0.0.1', port: busy } });
  await sub.start(cfg);
  t.equal(sub.status().state, 'unavailable', 'the gateway keeps running without it');
  t.match(sub.status().detail, /EADDRINUSE/);
  t.equal(sub.counters.crlSigned, 1, 'the CRL is still kept signed');
  await sub.stop();

  const moving = new PublicationSubsystem({ logger: log, stateDir: state, ca, clock: () => t0.getTime(), timers: manualTimers() });
  const free = structuredClone(cfg);
  free.certificates.publication = { listen: '127.0.0.1', port: await freePort() };
  await moving.start(free);
  t.teardown(() => moving.stop());
  t.equal(moving.status().state, 'running');
  const taken = structuredClone(cfg);
  taken.certificates.publication = { listen: '127.0.0.1', port: busy };
  await t.rejects(moving.reconfigure(taken), { code: 'POSTERN_ERR_SUBSYSTEM_FAILED' }, 'a move to a taken port throws, so the transaction rolls back');
  await moving.reconfigure(free);
  t.equal(moving.status().state, 'running', 'and the rollback binds the old address again');
});

t.test('publicationSpec: wanted unless turned off; its slice is the publication settings', async (t) => {
  const spec = publicationSpec(() => { throw new Error('not created here'); });
  const c = config();
  t.ok(spec.wanted(c), 'on when left out');
  c.certificates.publication = { enabled: false };
  t.notOk(spec.wanted(c));
  t.same(spec.slice(c), { publication: { enabled: false } });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
