// Issue 21: Postern's RADIUS client against two real FreeRADIUS 3.2 servers in lab namespaces:
// PAP accepted (Framed-IP-Address read) and rejected, PAP and CHAP-MD5 through the PPP authenticators'
// password verifier accepted and rejected; MS-CHAPv2 with MS-CHAP2-Success checked as
// the peer would and the MPPE keys decrypted and equal to RFC 3079's derivation from the password;
// a wrong NT-Response refused with MS-CHAP-Error 691; accounting Start/Stop written to FreeRADIUS's
// detail file; the first server killed and the client failing over to the second; an Accept
// without Message-Authenticator refused (Blast-RADIUS); the first server, started again, revived by
// its answer to Status-Server (RFC 5997). With the first server dead, 200 MS-CHAPv2 logins at once
// are all accepted by the second.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkAuthenticatorResponse, generateNtResponse, getAsymmetricStartKey, getMasterKey, hashNtPasswordHash, ntPasswordHash } from '../../firmware/crypto/mschapv2.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : false);
const USER = 'alice';
const PASSWORD = 'Alice-Pass-1';

t.test('RADIUS client against FreeRADIUS: PAP, MS-CHAPv2 with MPPE keys, accounting, failover', { skip }, async (t) => {
  const lab = Lab.create({
    hosts: { radius1: {}, radius2: {}, client: {} },
    links: {
      net1: { a: ['radius1', '10.9.1.1/24'], b: ['client', '10.9.1.2/24'] },
      net2: { a: ['radius2', '10.9.2.1/24'], b: ['client', '10.9.2.2/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  // On a failure, what both sides said.
  t.teardown(() => { if (!t.passing()) for (const f of [peer?.daemon.logFile, join(radius1?.dir ?? '', 'radius.log')]) { try { t.comment(readFileSync(f ?? '', 'utf8').slice(-4000)); } catch { /* not started */ } } });
  let peer: LinePeer | undefined;
  let radius1: FreeRadius | undefined;
  const users = [{ name: USER, password: PASSWORD, reply: { 'Framed-IP-Address': '10.10.0.5' } }, { name: 'mallory', password: PASSWORD }];
  // Replies signed with Message-Authenticator, except mallory's (FreeRADIUS 3.2.1 does not by default).
  const replyMessageAuthenticator = { exceptUser: 'mallory' };
  const [first, radius2] = await Promise.all([
    FreeRadius.start(lab, 'radius1', { address: '10.9.1.1', clients: [{ name: 'postern', network: '10.9.1.0/24', secret: 'secret-one' }], users, replyMessageAuthenticator }),
    FreeRadius.start(lab, 'radius2', { address: '10.9.2.1', clients: [{ name: 'postern', network: '10.9.2.0/24', secret: 'secret-two' }], users, replyMessageAuthenticator }),
  ]);
  radius1 = first;
  ({ peer } = await LinePeer.spawn(lab, 'client', 'radius-client', 'radius-client-peer.ts', {
    servers: [{ name: 'radius1', address: '10.9.1.1', secret: 'secret-one' }, { name: 'radius2', address: '10.9.2.1', secret: 'secret-two' }],
    initialTimeoutMs: 300,
    maxRetransmits: 1,
    statusServerIntervalMs: 500,
  }));

  t.match(await peer.call('pap', USER, PASSWORD), { outcome: 'accept', server: 'radius1', framedIp: '10.10.0.5' }, 'PAP accepted with its Framed-IP-Address');
  t.match(await peer.call('pap', USER, 'wrong'), { outcome: 'reject', server: 'radius1' }, 'PAP with a wrong password rejected');
  // The PPP authenticators' password verifier: PAP as User-Password, CHAP-MD5 as CHAP-Password + CHAP-Challenge (the NAS never sees that password).
  t.match(await peer.call('password', 'pap', USER, PASSWORD), { outcome: 'accept', framedIp: '10.10.0.5' }, 'PAP through the password verifier: accepted, with the Framed-IP-Address as session authorization');
  t.match(await peer.call('password', 'pap', USER, 'wrong'), { outcome: 'reject', reason: /radius1: reject/ }, 'and a wrong password rejected');
  t.match(await peer.call('password', 'chap-md5', USER, PASSWORD), { outcome: 'accept', framedIp: '10.10.0.5' }, 'CHAP-MD5 (CHAP-Password + CHAP-Challenge): accepted');
  t.match(await peer.call('password', 'chap-md5', USER, 'wrong'), { outcome: 'reject' }, 'and a wrong password rejected');

  const authChallenge = randomBytes(16);
  const peerChallenge = randomBytes(16);
  const ntResponse = generateNtResponse(authChallenge, peerChallenge, USER, PASSWORD);
  const ms = await peer.call('mschapv2', USER, authChallenge.toString('hex'), peerChallenge.toString('hex'), ntResponse.toString('hex'), 7);
  t.equal(ms.outcome, 'accept', JSON.stringify(ms));
  t.ok(checkAuthenticatorResponse(PASSWORD, ntResponse, peerChallenge, authChallenge, USER, ms.authenticatorResponse), 'MS-CHAP2-Success proves the server knew the password (RFC 2759 §8.8)');
  const masterKey = getMasterKey(hashNtPasswordHash(ntPasswordHash(PASSWORD)), ntResponse);
  t.equal(ms.sendKey, getAsymmetricStartKey(masterKey, 16, true, true).toString('hex'), 'MS-MPPE-Send-Key = the server side\'s send start key (RFC 3079 §3.4)');
  t.equal(ms.recvKey, getAsymmetricStartKey(masterKey, 16, false, true).toString('hex'), 'MS-MPPE-Recv-Key = the server side\'s receive start key');
  const badNt = generateNtResponse(authChallenge, peerChallenge, USER, 'not-the-password');
  t.match(await peer.call('mschapv2', USER, authChallenge.toString('hex'), peerChallenge.toString('hex'), badNt.toString('hex'), 8), { outcome: 'reject', error: 691 }, 'a wrong NT-Response: MS-CHAP-Error 691');

  t.match(await peer.call('account', { status: 'Start', sessionId: 'lab-sess-1', userName: USER, framedIpAddress: '10.10.0.5' }), { outcome: 'accounting-response', server: 'radius1' });
  t.match(await peer.call('account', { status: 'Stop', sessionId: 'lab-sess-1', userName: USER, sessionTimeSeconds: 42, inputOctets: 5000000000, outputOctets: 1234, terminateCause: 'UserRequest' }), { outcome: 'accounting-response' });
  const detail = () => { try { return readFileSync(join(radius1.dir, 'detail'), 'utf8'); } catch { return ''; } };
  await waitUntil('detail file with the Stop', 3000, async () => /Acct-Status-Type = Stop/.test(detail()), detail);
  const records = detail().split(/\n\n+/).filter((r) => r.includes('lab-sess-1'));
  t.equal(records.length, 2, 'Start and Stop recorded');
  t.match(records[0], /Acct-Status-Type = Start/);
  t.match(records[1], /Acct-Status-Type = Stop[\s\S]*Acct-Session-Time = 42/);
  t.match(records[1], /Acct-Input-Octets = 705032704[\s\S]*Acct-Input-Gigawords = 1/, '5,000,000,000 octets: the low 32 bits and one gigaword');
  t.match(records[1], /Acct-Terminate-Cause = User-Request/);
  t.match(records[1], /Acct-Delay-Time = 0/);

  process.kill(radius1.daemon.pid, 'SIGKILL');
  await radius1.daemon.exited;
  const started = Date.now();
  t.match(await peer.call('pap', USER, PASSWORD), { outcome: 'accept', server: 'radius2' }, 'the first server dead: the second answers');
  t.comment(`failover took ${Date.now() - started} ms (IRT 300 ms, one retransmission)`);
  t.match(await peer.call('pap', USER, PASSWORD), { outcome: 'accept', server: 'radius2' }, 'the dead server is skipped');
  const { counters, events } = await peer.call('counters');
  t.match(counters, { radius1: { alive: false, timeouts: 1, accepts: 4, rejects: 4, badAuthenticators: 0, missingMessageAuthenticator: 0 }, radius2: { alive: true, accepts: 2 } });
  t.match(events, [/^radius1 down/]);
  // 200 MS-CHAPv2 logins at once with the first server dead: every one accepted by the live one.
  const burst = await peer.call('burst', 200, USER, PASSWORD);
  t.same(burst.tally, { accept: 200 }, `200 concurrent logins: ${JSON.stringify(burst.tally)}`);
  t.comment(`200 concurrent MS-CHAPv2 logins through the RADIUS client in ${burst.ms} ms (${Math.round(200_000 / burst.ms)} logins/s against one FreeRADIUS, the other dead)`);
  t.match((await peer.call('counters')).counters, { radius2: { accepts: 202, alive: true }, radius1: { alive: false } }, 'all on the live server');

  // RFC 5997: the dead server, started again, answers a Status-Server probe and is first again.
  await FreeRadius.start(lab, 'radius1', { address: '10.9.1.1', clients: [{ name: 'postern', network: '10.9.1.0/24', secret: 'secret-one' }], users, replyMessageAuthenticator });
  await waitUntil('radius1 revived by Status-Server', 5000, async () => (await peer.call('counters')).events.some((e: string) => /^radius1 up: answered Status-Server/.test(e)));
  t.match(await peer.call('pap', USER, PASSWORD), { outcome: 'accept', server: 'radius1' }, 'revived by its answer to Status-Server, radius1 is used again');

  // Blast-RADIUS (CVE-2024-3596): a right password, but the Accept lacks Message-Authenticator.
  t.match(await peer.call('pap', 'mallory', PASSWORD), { outcome: 'timeout' }, 'an Access-Accept without Message-Authenticator is not believed');
  t.ok((await peer.call('counters')).counters.radius1.missingMessageAuthenticator >= 1, 'and counted');
  t.notMatch(radius2.log(), /secret-two/, 'sanity: nothing of ours printed the secret in the server log');
});
