// The shared UDP endpoint on loopback: IKE messages up with the marker removed, keepalives and
// short or unknown-SPI datagrams counted and dropped, IKE sent with the marker in front.
import { createSocket } from 'node:dgram';
import t from 'tap';
import { NativeEndpoint } from '../../../firmware/dataplane/native-endpoint.ts';
import { waitUntil } from '../../lab/peers/wait.ts';

t.test('the endpoint sorts what arrives on UDP 4500 and sends IKE with the non-ESP marker', async (t) => {
  const received: Array<{ packet: Buffer; from: { address: string; port: number } }> = [];
  const port = 40000 + (process.pid % 20000);
  const endpoint = NativeEndpoint.open('127.0.0.1', port, (packet, from) => received.push({ packet, from }));
  t.teardown(() => endpoint.close());
  const peer = createSocket('udp4');
  await new Promise<void>((done) => peer.bind(0, '127.0.0.1', () => done()));
  t.teardown(() => peer.close());
  const ike = Buffer.from('an IKE message, 28 bytes or more');
  const send = (b: Buffer) => new Promise<void>((done) => peer.send(b, port, '127.0.0.1', () => done()));
  await send(Buffer.concat([Buffer.alloc(4), ike]));
  await send(Buffer.of(0xff));
  await send(Buffer.of(1, 2, 3));
  await send(Buffer.concat([Buffer.from('12345678', 'hex'), Buffer.alloc(40)]));
  await waitUntil('all four counted and the IKE message delivered', 3000, () => endpoint.stats()?.rx === 4n && received.length > 0);
  t.equal(received.length, 1, 'only the IKE message reached JavaScript');
  t.same(received[0]?.packet, ike, 'without the marker');
  t.same(received[0]?.from, { address: '127.0.0.1', port: peer.address().port });
  const s = endpoint.stats()!;
  t.same([s.ike, s.keepalives, s.short, s.unknownSpi], [1n, 1n, 1n, 1n]);

  const echoed = new Promise<Buffer>((done) => peer.once('message', (m) => done(m)));
  t.ok(endpoint.sendIke(ike, { address: '127.0.0.1', port: peer.address().port }));
  t.same(await echoed, Buffer.concat([Buffer.alloc(4), ike]), 'sent with four zero bytes in front');
  t.equal(endpoint.stats()?.ikeSent, 1n);
  t.ok(endpoint.close(), 'closes when no tunnel uses it');
  t.equal(endpoint.stats(), undefined, 'and is gone');
});

t.test('a second endpoint on a taken port fails with a clear error', async (t) => {
  const port = 40001 + (process.pid % 20000);
  const holder = createSocket('udp4');
  await new Promise<void>((done) => holder.bind(port, '127.0.0.1', () => done()));
  t.teardown(() => holder.close());
  // SO_REUSEADDR lets two UDP sockets share a port, so binding succeeds; a bad address does not.
  t.throws(() => NativeEndpoint.open('192.0.2.254', port, () => {}), /could not open UDP 192\.0\.2\.254/);
});

t.test('IPv6 (issue 24): an endpoint on ::1 takes IKE with the local address it was sent to and answers from it', async (t) => {
  const received: Array<{ packet: Buffer; from: { address: string; port: number }; local: string | undefined }> = [];
  const port = 40002 + (process.pid % 20000);
  const endpoint = NativeEndpoint.open('::1', port, (packet, from, local) => received.push({ packet, from, local }));
  t.teardown(() => endpoint.close());
  const peer = createSocket('udp6');
  await new Promise<void>((done) => peer.bind(0, '::1', () => done()));
  t.teardown(() => peer.close());
  const ike = Buffer.from('an IKE message over IPv6, 28 bytes or more');
  peer.send(Buffer.concat([Buffer.alloc(4), ike]), port, '::1');
  await waitUntil('the IKE message delivered', 3000, () => received.length > 0);
  t.same(received[0]?.packet, ike, 'without the marker');
  t.same(received[0]?.from, { address: '::1', port: peer.address().port }, 'the IPv6 sender');
  t.equal(received[0]?.local, '::1', 'the address it was sent to (IPV6_PKTINFO)');
  const echoed = new Promise<{ m: Buffer; port: number }>((done) => peer.once('message', (m, r) => done({ m, port: r.port })));
  t.ok(endpoint.sendIke(ike, { address: '::1', port: peer.address().port }, '::1'), 'sent from the chosen source');
  t.same(await echoed, { m: Buffer.concat([Buffer.alloc(4), ike]), port }, 'with the marker, from the endpoint\'s port');
  t.notOk(endpoint.sendIke(ike, { address: '127.0.0.1', port: 9 }), 'an IPv4 destination refused: one endpoint per family');
  t.notOk(endpoint.sendIke(ike, { address: '::1', port: peer.address().port }, 'not-an-address'), 'a malformed source refused');
});
