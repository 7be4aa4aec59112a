// Issue 17 (the connection doctor): a PPP session (SSTP, L2TP, PPTP) that ends before its network
// comes up is reported once, with how far it got and whether the client was ever heard; the
// gateway's own close is not a failed attempt. Driven through PppSession with a fake pipe.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { PipeDispatcher } from '../../../firmware/access/pipe-dispatcher.ts';
import { GATEWAY_AUTH_METHODS, pppAuthenticatorFor } from '../../../firmware/access/ppp-authenticators.ts';
import { PppSession, type PppSetupFailure } from '../../../firmware/access/ppp-session.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { PppClientLink, type ClientLinkAction } from '../../../firmware/ppp/client-link.ts';
import { PapPeer } from '../../../firmware/ppp/pap/pap.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { encodeControlPacket } from '../../../firmware/ppp/control-packet.ts';
import { encodePppFrame, PppProtocol } from '../../../firmware/ppp/frame.ts';
import { AddressPool } from '../../../firmware/pools/address-pool.ts';

const pipe = { register: () => 1, unregister: () => undefined, route: () => undefined, unroute: () => undefined, write: () => undefined } as unknown as PipeDispatcher;

function session() {
  const failures: PppSetupFailure[] = [];
  const s: PppSession = new PppSession({
    protocol: 'pptp', peer: '198.51.100.7', logger: createLogger({ sink: () => {} }), pipe,
    pool: new AddressPool({ name: 'p', ipv4: '10.10.0.0/24', dns: [] }),
    link: { localAddress: '10.10.0.254', lcp: { random: (n) => randomBytes(n), auth: GATEWAY_AUTH_METHODS, mru: 1400 }, createAuthenticator: () => undefined },
    send: () => undefined, onDead: () => undefined,
    onSetupFailed: (f) => failures.push(f),
  });
  t.teardown(() => s.close('test over'));
  return { s, failures };
}

/** An LCP Configure-Request from the client, with no options. */
const lcpRequest = () => encodePppFrame({ protocol: PppProtocol.LCP, information: encodeControlPacket({ code: 1, identifier: 1, data: new Uint8Array() }) }, { addressControl: true });

t.test('the client never heard (a PPTP call whose GRE does not get through) ends at the link stage, unheard', async (t) => {
  const { s, failures } = session();
  s.lowerUp();
  s.lowerDown('the client cleared the call');
  t.same(failures, [{ stage: 'ppp-lcp', reason: 'the client cleared the call', heard: false, user: undefined }]);
  s.lowerDown('again');
  t.equal(failures.length, 1, 'reported once');
});

t.test('a client heard but gone before it logged in: the link stage, heard', async (t) => {
  const { s, failures } = session();
  s.lowerUp();
  s.receiveFrame(lcpRequest());
  s.lowerDown('the client cleared the call');
  t.match(failures, [{ stage: 'ppp-lcp', heard: true }]);
});

t.test('the gateway closing a session is not a failed attempt', async (t) => {
  const { s, failures } = session();
  s.lowerUp();
  s.receiveFrame(lcpRequest());
  s.close('administrator disconnect');
  s.lowerDown('closed');
  t.same(failures, []);
});

t.test('a login by a legacy method is said each time, as a warning naming why (issue 21: who still needs it)', async (t) => {
  const records: Array<Record<string, unknown>> = [];
  const toClient: Uint8Array[] = [];
  const s: PppSession = new PppSession({
    protocol: 'pptp', peer: '198.51.100.7', logger: createLogger({ sink: (r) => records.push(r as unknown as Record<string, unknown>) }), pipe,
    pool: new AddressPool({ name: 'p', ipv4: '10.10.0.0/24', dns: [] }),
    link: {
      localAddress: '10.10.0.254', lcp: { random: (n) => randomBytes(n), auth: ['pap'], mru: 1400 },
      createAuthenticator: (m) => pppAuthenticatorFor(m, { users: (name) => (name === 'alice' ? credentialFromPassword('Alice-Pass-123', true) : undefined), random: (n) => randomBytes(n) }),
    },
    send: (frame) => void toClient.push(frame), onDead: () => undefined,
  });
  t.teardown(() => s.close('test over'));
  const client = new PppClientLink({ lcp: { random: (n) => randomBytes(n), acceptAuth: ['pap'] }, createAuthPeer: () => new PapPeer('alice', new Secret('Alice-Pass-123')) });
  const fromClient = (actions: ClientLinkAction[]) => {
    for (const a of actions) if (a.type === 'send') s.receiveFrame(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
  };
  s.lowerUp();
  fromClient(client.lowerUp(Date.now()));
  // Bounded: a few dozen frames bring a PAP login up; the verdict may come a tick later.
  for (let round = 0; round < 50 && !records.some((r) => r['msg'] === 'PPP authenticated'); round++) {
    for (const frame of toClient.splice(0)) fromClient(client.receiveFrame(frame, Date.now()));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(records.some((r) => r['msg'] === 'PPP authenticated' && r['method'] === 'pap'), 'alice logged in by PAP');
  t.match(records.find((r) => r['msg'] === 'insecure: PPP login with a legacy method'), { level: 'warn', user: 'alice', method: 'pap', why: /clear/, protocol: 'pptp' });
  t.notOk(JSON.stringify(records).includes('Alice-Pass-123'), 'the password is in no record');
});
