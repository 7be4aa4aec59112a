// Issue 21: IKEv2 remote access honours the RADIUS Access-Accept as PPP sessions do. Framed-IP-Address
// is the virtual address in the CFG_REPLY (inside the pool, else the child is refused with
// INTERNAL_ADDRESS_FAILURE); Framed-Pool leases from that named pool (an unknown one refused);
// MS-Primary/Secondary-DNS-Server are the DNS servers sent; Session-Timeout deletes the IKE SA at
// expiry (also after an IKE rekey) with a reason accounting maps to Acct-Terminate-Cause Session-Timeout.
import t from 'tap';
import { localMschapv2Verifier, type Mschapv2Verifier } from '../../../firmware/auth/mschapv2-verifier.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { ikeAddressProvider } from '../../../firmware/pools/ike-addresses.ts';
import { PoolRegistry } from '../../../firmware/pools/pool-registry.ts';
import type { SessionAuthorization } from '../../../firmware/radius/session-authorization.ts';
import { terminateCauseOf } from '../../../firmware/radius/session-accounting.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const users = (name: string) => (name === 'alice' ? credentialFromPassword('Correct-Horse-7') : undefined);

/** The local check, with what a RADIUS Access-Accept would have said. */
function radiusLike(authorization: SessionAuthorization): Mschapv2Verifier {
  const local = localMschapv2Verifier(users);
  return { verify: (a) => { const v = local.verify(a) as ReturnType<typeof local.verify> & { ok: boolean }; return v.ok ? { ...v, source: 'radius', authorization } : v; } };
}

function pairWith(authorization: SessionAuthorization, rekeySeconds?: number) {
  const registry = new PoolRegistry([{ name: 'ra', ipv4: '10.10.0.0/24', dns: ['10.10.0.1'] }, { name: 'staff', ipv4: '10.20.0.0/24', dns: ['10.20.0.1'] }], []);
  const a = new IkeEngine([connection('vpn', { remoteAddress: '192.0.2.2', remoteId: 'vpn.example.com', requestVirtualIp: true, remoteTs: ['0.0.0.0/0'], eap: { identity: 'alice', password: new Secret('Correct-Horse-7') } })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { localId: 'vpn.example.com', peerAuth: 'eap-mschapv2', pool: 'ra', localTs: ['0.0.0.0/0'], remoteTs: [], ...(rekeySeconds ? { ikeRekeySeconds: rekeySeconds } : {}) })], seededCrypto('b'),
    { users, addresses: ikeAddressProvider(registry, () => 0), mschapv2: () => radiusLike(authorization) });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: '192.0.2.1', port: 500 }, 0));
  return { pair, registry, b };
}

const vipOf = (pair: EnginePair) => pair.of('a', 'ike-up')[0]?.virtualIp;

t.test('Framed-IP-Address and the Microsoft DNS servers are what the client gets', async (t) => {
  const { pair, registry } = pairWith({ class: [], framedIpAddress: '10.10.0.50', dnsServers: ['192.0.2.53', '192.0.2.54'] });
  pair.run(5000);
  t.same(vipOf(pair), { ipv4: '10.10.0.50', dns: ['192.0.2.53', '192.0.2.54'], subnets: [] });
  t.equal(registry.get('ra')?.holderOf('10.10.0.50'), 'alice', 'pinned to the user in the pool');
  t.equal(pair.of('a', 'install-child').length, 1, 'the child is up');
});

t.test('Framed-Pool leases from the named pool, with its DNS', async (t) => {
  const { pair, registry } = pairWith({ class: [], framedPool: 'staff' });
  pair.run(5000);
  t.match(vipOf(pair)?.ipv4, /^10\.20\.0\./);
  t.same(vipOf(pair)?.dns, ['10.20.0.1']);
  t.equal(registry.get('ra')?.leaseOf('alice'), undefined, 'nothing taken from the listener\'s pool');
  pair.take('b', pair.engines.b!.terminate(pair.of('b', 'ike-up')[0]!.spi, pair.now));
  pair.run(pair.now + 5000);
  t.equal(registry.get('staff')?.leaseOf('alice'), undefined, 'released into the pool it came from');
});

t.test('refused: an address outside the pool, a pool that does not exist', async (t) => {
  for (const [authorization, why] of [[{ class: [], framedIpAddress: '192.168.99.9' }, /Framed-IP-Address 192\.168\.99\.9 is outside pool 'ra' for 'alice': refused/], [{ class: [], framedPool: 'nope' }, /Framed-Pool 'nope' is no configured pool for 'alice': refused/], [{ class: [], framedPool: 'staff', framedIpAddress: '10.10.0.50' }, /outside pool 'staff'/]] as const) {
    const { pair } = pairWith(authorization);
    pair.run(5000);
    t.ok(pair.logs('b').some((l) => why.test(l)), `the gateway says why (${why.source})`);
    t.equal(pair.of('a', 'install-child').length, 0, 'no child SA: INTERNAL_ADDRESS_FAILURE');
    t.ok(pair.logs('a').some((l) => /INTERNAL_ADDRESS_FAILURE/.test(l)), 'the client is told');
  }
});

t.test('Session-Timeout: the IKE SA is deleted at expiry, across an IKE rekey, with the cause for accounting', async (t) => {
  const { pair } = pairWith({ class: [], sessionTimeoutSeconds: 30 }, 10);
  pair.run(29_000);
  t.equal(pair.of('b', 'ike-rekeyed').length >= 1, true, 'rekeyed before expiry');
  t.equal(pair.of('b', 'ike-down').length, 0, 'still up at 29 s');
  pair.run(40_000);
  const down = pair.of('b', 'ike-down');
  t.equal(down.length, 1);
  t.equal(down[0]?.reason, 'session timeout (RADIUS Session-Timeout 30 s)');
  t.equal(terminateCauseOf(down[0]!.reason), 'SessionTimeout');
  t.ok(pair.now >= 30_000 && pair.now < 32_000, `deleted at expiry (${pair.now} ms)`);
  t.equal(pair.of('a', 'ike-down').length, 1, 'the client saw the delete');
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0);
});

t.test('a CoA Session-Timeout (RFC 5176) replaces the Accept\'s: deleted that long after it, across a rekey, cause Session-Timeout', async (t) => {
  const { pair, b } = pairWith({ class: [], sessionTimeoutSeconds: 300 }, 10);
  pair.run(3_000);
  const spi = pair.of('b', 'ike-up')[0]!.spi;
  t.equal(b.setSessionTimeout(spi, 12, pair.now), true, 'set on the established SA');
  t.equal(b.setSessionTimeout(12345n, 12, pair.now), false, 'no such SA');
  const at = pair.now;
  pair.run(30_000);
  t.ok(pair.of('b', 'ike-rekeyed').length >= 1, 'rekeyed meanwhile');
  const down = pair.of('b', 'ike-down');
  t.equal(down.length, 1);
  t.equal(down[0]?.reason, 'session timeout (RADIUS CoA Session-Timeout 12 s)');
  t.equal(terminateCauseOf(down[0]!.reason), 'SessionTimeout');
  t.ok(pair.now - at >= 12_000 && pair.now - at < 14_000, `deleted 12 s after the CoA (${pair.now - at} ms), not at 300 s`);
});
