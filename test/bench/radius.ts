// RADIUS benchmark (issue 21): MS-CHAPv2 logins per second checked by FreeRADIUS through Postern's
// RADIUS client (the verifier every listener uses), against the local users' verifier, and the
// latency one login adds. FreeRADIUS runs in a lab namespace on the same machine; the client is
// Postern's RADIUS client in another. The verification alone: TLS, SSTP and PPP are the same either
// way and measured by the SSTP benchmark. Prints `bench radius …` lines.
import { randomBytes } from 'node:crypto';
import { localMschapv2Verifier } from '../../firmware/auth/mschapv2-verifier.ts';
import { generateNtResponse } from '../../firmware/crypto/mschapv2.ts';
import { credentialFromPassword } from '../../firmware/crypto/user-credential.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { Lab } from '../lab/topology.ts';

const USER = 'alice';
const PASSWORD = 'Bench-Pass-0123';
const ROUNDS = Number(process.env['BENCH_RADIUS_ROUNDS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The local users: the same verification the gateway does when `auth` is local.
const credential = credentialFromPassword(PASSWORD);
const local = localMschapv2Verifier((name) => (name === USER ? credential : undefined));
const attempt = () => {
  const authenticatorChallenge = randomBytes(16);
  const peerChallenge = randomBytes(16);
  return { userName: USER, authenticatorChallenge, peerChallenge, ntResponse: generateNtResponse(authenticatorChallenge, peerChallenge, USER, PASSWORD), ident: 1 };
};
const attempts = Array.from({ length: 2000 }, attempt);
let started = performance.now();
for (const a of attempts) if (!(await local.verify(a)).ok) throw new Error('local verification failed');
const localPerSecond = Math.round(attempts.length / ((performance.now() - started) / 1000));
const localLatency = median(attempts.slice(0, 50).map((a) => { const t0 = performance.now(); void local.verify(a); return performance.now() - t0; }));

const lab = Lab.create({ hosts: { radius: {}, client: {} }, links: { net: { a: ['radius', '10.9.1.1/24'], b: ['client', '10.9.1.2/24'] } } });
try {
  await FreeRadius.start(lab, 'radius', { address: '10.9.1.1', clients: [{ name: 'postern', network: '10.9.1.0/24', secret: 'bench-secret-21' }], users: [{ name: USER, password: PASSWORD }], replyMessageAuthenticator: 'always' });
  const { peer } = await LinePeer.spawn(lab, 'client', 'radius-bench', 'radius-client-peer.ts', { servers: [{ name: 'radius', address: '10.9.1.1', secret: 'bench-secret-21' }], initialTimeoutMs: 2000, maxRetransmits: 2, statusServerIntervalMs: 10_000 });
  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) {
    const a = attempt();
    const t0 = performance.now();
    const r = await peer.call('mschapv2', USER, a.authenticatorChallenge.toString('hex'), a.peerChallenge.toString('hex'), a.ntResponse.toString('hex'), 1);
    latencies.push(performance.now() - t0);
    if (r.outcome !== 'accept') throw new Error(`login refused: ${JSON.stringify(r)}`);
  }
  let accepted = 0;
  let ms = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const burst = await peer.call('burst', 200, USER, PASSWORD);
    accepted += burst.tally.accept ?? 0;
    ms += burst.ms;
  }
  const radiusPerSecond = Math.round(accepted / (ms / 1000));
  console.log(`bench radius mschapv2 logins/s: freeradius ${radiusPerSecond} (${accepted}/${ROUNDS * 200} accepted, 200 at a time), local users ${localPerSecond}`);
  console.log(`bench radius added latency per login: ${(median(latencies) - localLatency).toFixed(1)} ms (median over RADIUS ${median(latencies).toFixed(1)} ms incl. the test's stdin round trip, local ${localLatency.toFixed(2)} ms)`);
} finally {
  lab.teardown();
}
