// Postern as an SSTP client against Postern's SSTP server over real TLS on loopback: HTTP exchange,
// Call Connect, PPP with MS-CHAPv2, crypto binding checked by the server, IPCP, IP both ways; refusals.
import { X509Certificate, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { localMschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { Mschapv2Authenticator } from '../../../firmware/ppp/chap/mschapv2-authenticator.ts';
import { encodePppFrame } from '../../../firmware/ppp/frame.ts';
import { PppLink } from '../../../firmware/ppp/link.ts';
import { readResponseHead, sstpRequestHead } from '../../../firmware/sstp/client/client-http.ts';
import { SstpClientSession } from '../../../firmware/sstp/client/client-session.ts';
import { sstpTestResult } from '../../../firmware/sites/site-test.ts';
import { driverDialUnavailable } from '../../../firmware/sstp/client/driver-dial.ts';
import { SstpDialer } from '../../../firmware/sstp/client/sstp-dialer.ts';
import { answerRequestHead } from '../../../firmware/sstp/http-handshake.ts';
import { SstpListener } from '../../../firmware/sstp/sstp-listener.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const now = new Date();
const ca = createCa({ commonName: 'Test CA', validityDays: 2, keyType: 'ecdsa-p256', now });
const cert = issueServerCertificate(ca, { commonName: 'localhost', sans: ['localhost', '127.0.0.1'], validityDays: 2, now });
const users = (name: string) => (name === 'alice' ? credentialFromPassword('Alice-Pass-123') : undefined);

/** A server whose PPP side is the real link (MS-CHAPv2, IPCP) and echoes every IPv4 packet back. */
async function server(t: { teardown(fn: () => void): void }) {
  const { sink, records } = memorySink();
  const logger = createLogger({ sink, level: 'debug' });
  const listener = new SstpListener({
    host: '127.0.0.1', port: 0, certificatePem: cert.certificatePem, keyPem: cert.keyPem, logger,
    connection: {
      session: { randomBytes: (n) => randomBytes(n) },
      createLink: (io) => {
        const link = new PppLink({
          lcp: { random: (n) => randomBytes(n), auth: ['mschapv2'] },
          createAuthenticator: () => new Mschapv2Authenticator({ serverName: 'gw', verifier: localMschapv2Verifier(users), random: (n) => randomBytes(n) }),
          ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.42', dns1: '10.0.0.53' }) },
        });
        let timer: NodeJS.Timeout | undefined;
        const run = (actions: ReturnType<PppLink['tick']>) => {
          for (const a of actions) {
            if (a.type === 'send') io.sendFrame(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
            else if (a.type === 'authenticated') io.authenticated(a.keys?.hlak);
            else if (a.type === 'deliver') io.sendFrame(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
            else if (a.type === 'dead') io.disconnect();
          }
          clearTimeout(timer);
          const at = link.nextTimeout();
          if (at !== undefined) timer = setTimeout(() => run(link.tick(Date.now())), Math.max(0, at - Date.now()));
        };
        return { lowerUp: () => run(link.lowerUp(Date.now())), receiveFrame: (f) => run(link.receiveFrame(f, Date.now())), lowerDown: (r) => (clearTimeout(timer), run(link.lowerDown(Date.now(), r))) };
      },
    },
  });
  const address = await listener.start();
  t.teardown(() => void listener.stop());
  return { port: address.port, records, listener };
}

/** Issue 23: the dialer's TLS runs in the driver wherever the driver can dial; Node's TLS when told (the fallback). */
const driverDials = driverDialUnavailable() === undefined;
for (const dataPath of ['native', 'javascript'] as const) {
  t.test(`Postern dials Postern (${dataPath}): TLS 1.3, crypto binding verified, an address, IP both ways, clean hang-up`, async (t) => {
    const s = await server(t);
    const got: Uint8Array[] = [];
    // The revocation check is asked with the server's certificate and its issuer (from the TLS, on either path).
    const asked: Array<[string, string | undefined]> = [];
    const checkRevocation = async (c: X509Certificate, issuer: X509Certificate | undefined) => (asked.push([c.subject, issuer?.subject]), undefined);
    const dialer = new SstpDialer({ host: '127.0.0.1', servername: 'localhost', port: s.port, ca: ca.certificatePem, user: 'alice', password: new Secret('Alice-Pass-123'), logger: createLogger({ sink: () => {} }), onIp: (p) => got.push(p), dataPath, checkRevocation });
    t.equal(dialer.tlsIn, dataPath === 'native' && driverDials ? 'driver' : 'node', 'whose TLS the call runs on');
    const ipcp = await dialer.ready;
    t.match(ipcp, { localAddress: '10.10.0.42', peerAddress: '10.0.0.1', dns1: '10.0.0.53' });
    await new Promise((r) => setTimeout(r, 50));
    t.ok(s.records.some((r) => r.msg === 'SSTP call connected' && r['cryptoBinding'] === 'SHA-256'), 'the server verified the crypto binding');
    t.ok(s.records.some((r) => r.msg === 'SSTP call' && r['tls'] === 'TLSv1.3'));
    const packet = Uint8Array.from([0x45, 0, 0, 20, ...new Array(8).fill(0), 10, 10, 0, 42, 10, 0, 0, 1]);
    dialer.sendIp(packet);
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    t.same(got[0], packet, 'the server echoed the IPv4 packet back through SSTP');
    dialer.disconnect();
    t.match(await dialer.closed, /./, 'the call ends');
    t.same(asked, [['CN=localhost', 'CN=Test CA']], 'revocation asked once, with the certificate and its issuer');
  });
}

t.test('a wrong password: ready rejects, the server logs the failure', async (t) => {
  const s = await server(t);
  const dialer = new SstpDialer({ host: '127.0.0.1', servername: 'localhost', port: s.port, ca: ca.certificatePem, user: 'alice', password: new Secret('nope'), logger: createLogger({ sink: () => {} }) });
  await t.rejects(dialer.ready, /authentication failed|PPP ended|closed/);
  await dialer.closed;
});

t.test('an untrusted server certificate is refused before anything is sent', async (t) => {
  const s = await server(t);
  const other = createCa({ commonName: 'Other CA', validityDays: 2, keyType: 'ecdsa-p256', now });
  const calls = () => s.records.filter((r) => r.msg === 'SSTP call').length;
  const dialer = new SstpDialer({ host: '127.0.0.1', servername: 'localhost', port: s.port, ca: other.certificatePem, user: 'alice', password: new Secret('Alice-Pass-123'), logger: createLogger({ sink: () => {} }) });
  await t.rejects(dialer.ready, driverDials ? /TLS: the server certificate was refused: unable to get local issuer certificate/ : /TLS/);
  // The certificate is good for localhost and 127.0.0.1 only: another name or address is refused as Node's TLS refuses it.
  const misnamed = new SstpDialer({ host: '127.0.0.1', servername: 'gw.example.net', port: s.port, ca: ca.certificatePem, user: 'alice', password: new Secret('Alice-Pass-123'), logger: createLogger({ sink: () => {} }) });
  await t.rejects(misnamed.ready, driverDials ? /TLS: the server certificate was refused: hostname mismatch/ : /TLS/);
  const byAddress = new SstpDialer({ host: '127.0.0.1', servername: '127.0.0.2', port: s.port, ca: ca.certificatePem, user: 'alice', password: new Secret('Alice-Pass-123'), logger: createLogger({ sink: () => {} }) });
  await t.rejects(byAddress.ready, driverDials ? /TLS: the server certificate was refused: IP address mismatch/ : /TLS/);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(calls(), 0, 'the server never saw an SSTP request from a refused dialer');
  // A site's Test reads each refusal as an untrusted certificate, on either TLS.
  for (const d of [dialer, misnamed, byAddress]) t.equal(sstpTestResult('s', { host: '127.0.0.1', port: s.port, reached: 'none', timedOut: false, closedReason: await d.closed, elapsedMs: 1 }).problem?.cause, 'untrusted-certificate');
});

t.test('a pinned fingerprint replaces the CA: the right pin connects, a wrong one is refused before any request', async (t) => {
  const s = await server(t);
  const pin = new X509Certificate(cert.certificatePem).fingerprint256;
  const quiet = createLogger({ sink: () => {} });
  const pinned = new SstpDialer({ host: '127.0.0.1', port: s.port, fingerprint: pin.replaceAll(':', '').toLowerCase(), user: 'alice', password: new Secret('Alice-Pass-123'), logger: quiet });
  t.match(await pinned.ready, { localAddress: '10.10.0.42' }, 'pin matches (colons and case ignored): the call comes up without any CA');
  pinned.disconnect();
  await pinned.closed;
  const calls = s.records.filter((r) => r.msg === 'SSTP call').length;
  const wrong = `${pin.slice(0, -2)}${pin.endsWith('00') ? '11' : '00'}`;
  const refused = new SstpDialer({ host: '127.0.0.1', port: s.port, fingerprint: wrong, user: 'alice', password: new Secret('Alice-Pass-123'), logger: quiet });
  await t.rejects(refused.ready, /pinned fingerprint/);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(s.records.filter((r) => r.msg === 'SSTP call').length, calls, 'the server never saw an SSTP request from the refused dialer');
});

t.test('the request head is what the server accepts; response heads parse or refuse, never throw', async (t) => {
  const head = sstpRequestHead('vpn.example.com', '11111111-2222-3333-4444-555555555555');
  t.match(answerRequestHead(head, Date.now()), { kind: 'sstp', host: 'vpn.example.com' });
  t.match(readResponseHead(Buffer.from('HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\nxx')), { kind: 'accepted', headLength: 54 });
  t.match(readResponseHead(Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n')), { kind: 'refused' });
  t.match(readResponseHead(Buffer.from('HTTP/1.1 200')), { kind: 'incomplete' });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    readResponseHead(bytes);
    const session = new SstpClientSession({ certHash256: new Uint8Array(32), certHash1: new Uint8Array(20) }, 0);
    session.handle({ type: 'RcvStream', bytes }, 1);
    session.handle({ type: 'Timeout' }, 120_000);
  }), { numRuns: 1000 });
});
