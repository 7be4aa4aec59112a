// SSTP calls whose TLS runs in the driver (issue 23) against Node's TLS client, on loopback inside a
// lab host: the handshake (TLS 1.3, and 1.2 with the ClientHello read by JavaScript first; the chain
// verified by the client), the HTTP head, control packets and LCP up to JavaScript, JavaScript's
// answer down, then IP both ways through the real kernel (TUN, routes, a UDP socket), a spoofed source dropped in C, and close_notify ending the call.
import t from 'tap';
import { isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(isRoot() ? false : 'needs root');

t.test('SSTP with its TLS in the driver, against Node\'s TLS client', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const { peer } = await LinePeer.spawn(lab, 'gwA', 'sstp-c', 'sstp-c-peer.ts', {});
  // TLS 1.2's call is handed over after the listener read its ClientHello (as one looking at SNI would).
  for (const [version, mode] of [['TLSv1.3', ''], ['TLSv1.2', 'hello-first']] as const) {
    const line = await peer.command(`run ${version} ${mode}`, 60_000);
    t.match(line, /^result /, `${version}: the call ran (${line.slice(0, 200)})`);
    const r = JSON.parse(line.replace(/^result /, '')) as Record<string, unknown> & { stats: Record<string, unknown> & { ppp: Record<string, number> } };
    t.equal(r['protocol'], version, `${version}: negotiated (${String(r['cipher'])})`);
    t.equal(r['authorized'], true, `${version}: the client verified the driver's certificate chain`);
    t.same([r['headUp'], r['controlUp'], r['lcpUp']], [true, true, true], `${version}: the HTTP head, a control packet and LCP came up whole, in order`);
    t.same([r['responseSent'], r['responseAtClient']], [true, true], `${version}: JavaScript's HTTP response reached the client`);
    t.ok(Number(r['upArrived']) >= 990 && r['upInOrder'] === true, `${version}: client → gateway: ${String(r['upArrived'])} of 1000 datagrams through the TUN, in order`);
    t.ok(Number(r['downArrived']) >= 990 && r['downInOrder'] === true, `${version}: gateway → client: ${String(r['downArrived'])} of 1000 through the hub and the driver's TLS, in order`);
    t.equal(r['spoofedArrived'], false, `${version}: IP from another address never reached the gateway`);
    t.equal(r.stats.ppp['dropSource'], 1, `${version}: and was counted`);
    t.equal(r.stats.tlsVersion, version, `${version}: the driver reports the same version`);
    t.equal(r['endedWith'], 1, `${version}: the client's close_notify ended the call (peer closed)`);
    t.equal(r['clientClosed'], true, `${version}: and the removed call closed the client's socket`);
  }
});
