// The dyndns2-style HTTP update (issue 17) against a server on loopback speaking that protocol:
// the URL filled in, basic auth, good/nochg accepted, the service's refusals named.
import { createServer, type IncomingMessage } from 'node:http';
import t from 'tap';
import { sendHttpUpdate } from '../../../firmware/ddns/ddns-senders.ts';
import { Secret } from '../../../firmware/util/secret.ts';

t.test('dyndns2: hostname and myip in the URL, basic auth, the answer read', async (t) => {
  const seen: IncomingMessage[] = [];
  let reply = 'good 203.0.113.5';
  const server = createServer((req, res) => {
    seen.push(req);
    const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    if (auth !== 'branch1:Update-Pass-9') return void res.writeHead(401).end('badauth');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(reply);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };
  const target = { url: `http://127.0.0.1:${port}/nic/update?hostname={name}&myip={address}`, username: 'branch1', password: new Secret('Update-Pass-9') };
  t.equal(await sendHttpUpdate(target, 'vpn.branch1.example.com', '203.0.113.5'), undefined, 'good');
  t.equal(seen[0]?.url, '/nic/update?hostname=vpn.branch1.example.com&myip=203.0.113.5');
  reply = 'nochg 203.0.113.5';
  t.equal(await sendHttpUpdate(target, 'vpn.branch1.example.com', '203.0.113.5'), undefined, 'nochg is fine too');
  reply = 'nohost';
  t.match(await sendHttpUpdate(target, 'vpn.branch1.example.com', '203.0.113.5'), /answered 'nohost'/);
  t.match(await sendHttpUpdate({ ...target, password: new Secret('wrong') }, 'vpn.branch1.example.com', '203.0.113.5'), /HTTP 401 badauth/);
  t.match(await sendHttpUpdate({ url: 'http://127.0.0.1:1/x' }, 'a', '203.0.113.5', 2000), /could not reach/);
});
