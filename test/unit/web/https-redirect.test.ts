// Issue 17: HTTPS for the management UI with plain HTTP on the same port redirected to it, switched at
// run time on the same port (port 0 keeps the port it got), and back.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import t from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { httpsLocation } from '../../../firmware/web/https-redirect.ts';
import { WebSubsystem } from '../../../firmware/web/web-subsystem.ts';
import { tempDir } from '../../helpers/tmp.ts';

interface Answer { status: number; location?: string; text: string }

function get(secure: boolean, port: number, path: string, ca?: string): Promise<Answer> {
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` }, ...(ca ? { ca, servername: 'postern.local' } : {}) }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('https on: TLS answered, plain HTTP redirected on the same port; switched off again on the same port', async (t) => {
  const dir = tempDir(t, 'postern-https-');
  const logger = createLogger({ sink: memorySink().sink, level: 'debug' });
  const config = defaultConfig();
  config.system.management.https = true;
  let pki = loadOrCreatePki(dir, config.certificates, logger);
  const web = new WebSubsystem({
    logger, health: () => ({ status: 'ok' }), override: { host: '127.0.0.1', port: 0 },
    tls: () => ({ cert: `${pki.server.certificatePem}\n${pki.ca.certificatePem}`, key: pki.server.keyPem.reveal() }),
    interfaceAddresses: () => ['127.0.0.1'],
  });
  await web.start(config);
  t.teardown(() => web.stop());
  const port = web.address()!.port;
  t.match(web.status().detail, /^https:/);
  const secure = await get(true, port, '/healthz', pki.ca.certificatePem);
  t.same([secure.status, JSON.parse(secure.text)], [200, { status: 'ok' }], 'HTTPS with the gateway certificate, verified against the Postern CA');
  const plain = await get(false, port, '/api/v1/setup?x=1');
  t.same([plain.status, plain.location], [308, `https://127.0.0.1:${port}/api/v1/setup?x=1`], 'plain HTTP: a redirect to the same place over HTTPS');
  const elsewhere = await new Promise<number>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host: 'evil.example' } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end();
  });
  t.equal(elsewhere, 421, 'no redirect to a name the box does not answer to');

  const off = structuredClone(config);
  off.system.management.https = false;
  await web.reconfigure(off);
  t.equal(web.address()!.port, port, 'the same port (it was picked for port 0)');
  t.equal((await get(false, port, '/healthz')).status, 200, 'plain HTTP served again');
  await web.reconfigure(config);
  t.equal((await get(true, port, '/healthz', pki.ca.certificatePem)).status, 200, 'and HTTPS again');

  // A new gateway certificate (another CA here, to tell them apart) reaches new connections without a restart.
  pki = loadOrCreatePki(tempDir(t, 'postern-https2-'), config.certificates, logger);
  web.reloadCertificate();
  t.equal((await get(true, port, '/healthz', pki.ca.certificatePem)).status, 200, 'the new certificate is served');
});

t.test('the redirect target is built only from a well-formed Host', async (t) => {
  t.equal(httpsLocation('192.168.1.1:8080', '/#x'), 'https://192.168.1.1:8080/#x');
  t.equal(httpsLocation('[fd00::1]:8080', '/a'), 'https://[fd00::1]:8080/a');
  t.equal(httpsLocation('a b', '/'), undefined);
  t.equal(httpsLocation(undefined, '/'), undefined);
  t.equal(httpsLocation('box', 'http://evil/'), 'https://box/', 'an absolute URL in the request line is not followed');
});
