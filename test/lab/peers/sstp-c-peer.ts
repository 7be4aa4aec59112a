// SSTP calls whose TLS runs in the driver (issue 23), inside a lab host: a shared TUN, the driver's
// SSTP engine behind a TCP listener on loopback, and Node's TLS client in the same process speaking
// SSTP to it. `run VERSION [hello-first]` (TLSv1.2 or TLSv1.3; the listener reading the ClientHello
// before handing the socket over) drives one call through its whole life and answers `result {json}`
// with what each side saw; the test asserts on it.
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connect, type SecureVersion, type TLSSocket } from 'node:tls';
import { NativeHub } from '../../../firmware/dataplane/native-hub.ts';
import { NativeSstp, NativeSstpCertificate, type NativeSstpCall } from '../../../firmware/dataplane/native-sstp.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';

const GATEWAY = '10.98.0.1';
const CLIENT = '10.98.5.2';
const hub = NativeHub.open({ name: 'sc0', mtu: 1400, address: GATEWAY, prefixLength: 16 });
const ca = createCa({ commonName: 'SSTP Lab CA', validityDays: 2, keyType: 'ecdsa-p256', now: new Date() });
const leaf = issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['vpn.example.com'], validityDays: 1, now: new Date(), keyType: 'ecdsa-p256' });
const certificate = NativeSstpCertificate.load(leaf.certificatePem, leaf.keyPem.reveal());

const pieces = new Map<number, Buffer[]>();
const engine = NativeSstp.open((batch) => {
  for (const [tag, bytes] of batch) pieces.set(tag, [...(pieces.get(tag) ?? []), bytes]);
});
let nextTag = 1;
/** Read the ClientHello in JavaScript first and hand it over with the socket (as a listener that looks at SNI would). */
let readHelloFirst = false;
const calls = new Map<number, NativeSstpCall>();
const server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
  const tag = nextTag++;
  if (!readHelloFirst) return void calls.set(tag, engine.addCall(socket, certificate, tag, hub));
  socket.once('data', (hello: Buffer) => {
    socket.pause();
    calls.set(tag, engine.addCall(socket, certificate, tag, hub, hello));
  });
  socket.resume();
});

async function until(what: string, ms: number, test: () => boolean): Promise<void> {
  for (const end = Date.now() + ms; !test(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

function sum16(b: Buffer, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += (b[b.length - 1] as number) << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** IPv4 + UDP (checksum 0: none, RFC 768) with a correct header checksum. */
function udp4(src: string, dst: string, sport: number, dport: number, payload: Buffer): Buffer {
  const p = Buffer.alloc(28 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = 17;
  Buffer.from(src.split('.').map(Number)).copy(p, 12);
  Buffer.from(dst.split('.').map(Number)).copy(p, 16);
  p.writeUInt16BE(~sum16(p.subarray(0, 20)) & 0xffff, 10);
  p.writeUInt16BE(sport, 20);
  p.writeUInt16BE(dport, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  payload.copy(p, 28);
  return p;
}

function sstpData(ppp: Buffer): Buffer {
  const h = Buffer.from([0x10, 0x00, 0, 0]);
  h.writeUInt16BE(4 + ppp.length, 2);
  return Buffer.concat([h, ppp]);
}

const HEAD = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: vpn.example.com\r\nContent-Length: 18446744073709551615\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n';
/** Call Connect Request with its Encapsulated Protocol ID attribute (PPP), [MS-SSTP] §2.2.9. */
const CONNECT_REQUEST = Buffer.from('1001000e00010001000100060001', 'hex');
const LCP_REQUEST = sstpData(Buffer.from('ff03c02101010004', 'hex'));

/** The client's view: the HTTP response, then SSTP packets; UDP payloads of data packets collected. */
class ClientStream {
  response = '';
  packets = 0;
  udp: Buffer[] = [];
  #buffer = Buffer.alloc(0);
  #headDone = false;

  take(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#headDone) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.response = this.#buffer.subarray(0, end + 4).toString('latin1');
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
    }
    while (this.#buffer.length >= 4) {
      const n = this.#buffer.readUInt16BE(2) & 0x0fff;
      if (this.#buffer.length < n) return;
      const packet = this.#buffer.subarray(0, n);
      this.#buffer = this.#buffer.subarray(n);
      this.packets++;
      // A data packet with Address/Control, IPv4, UDP: keep its payload.
      if ((packet[1]! & 1) === 0 && packet.readUInt16BE(6) === 0x0021 && packet[8 + 9] === 17) this.udp.push(Buffer.from(packet.subarray(8 + 28)));
    }
  }
}

async function run(version: SecureVersion, helloFirst: boolean): Promise<Record<string, unknown>> {
  readHelloFirst = helloFirst;
  const port = (server.address() as AddressInfo).port;
  const tag = nextTag;
  const client: TLSSocket = connect({ host: '127.0.0.1', port, ca: ca.certificatePem, servername: 'vpn.example.com', minVersion: version, maxVersion: version });
  const stream = new ClientStream();
  client.on('data', (chunk: Buffer) => stream.take(chunk));
  let clientClosed = false;
  client.on('close', () => (clientClosed = true));
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', () => resolve());
    client.once('error', reject);
  });
  const result: Record<string, unknown> = { protocol: client.getProtocol(), cipher: client.getCipher().name, authorized: client.authorized };
  const call = calls.get(tag);
  if (!call) throw new Error('the listener handed no call to the driver');

  client.write(HEAD);
  client.write(Buffer.concat([CONNECT_REQUEST, LCP_REQUEST]));
  await until('the head, control packet and LCP up', 5000, () => (pieces.get(tag)?.length ?? 0) >= 3);
  const up = pieces.get(tag) ?? [];
  result['headUp'] = up[0]?.toString('latin1') === HEAD;
  result['controlUp'] = up[1]?.equals(CONNECT_REQUEST) ?? false;
  result['lcpUp'] = up[2]?.equals(LCP_REQUEST) ?? false;
  result['responseSent'] = call.send(Buffer.from(RESPONSE));
  await until('the response at the client', 5000, () => stream.response !== '');
  result['responseAtClient'] = stream.response === RESPONSE;

  call.startData({ mtu: 1400, sources: [`${CLIENT}/32`] });
  const gwSocket = createSocket('udp4');
  const atGateway: Buffer[] = [];
  gwSocket.on('message', (m) => atGateway.push(m));
  await new Promise<void>((resolve) => gwSocket.bind(0, GATEWAY, resolve));
  const gwPort = gwSocket.address().port;

  // Client → gateway: IP through TLS, the driver, the PPP data path, the TUN, the kernel.
  // In windows of 100, as TCP would pace it: the gateway's socket buffer is the test's, not the driver's.
  const burst = 1000;
  for (let i = 0; i < burst; i++) {
    client.write(sstpData(Buffer.concat([Buffer.from('ff030021', 'hex'), udp4(CLIENT, GATEWAY, 4000, gwPort, Buffer.from(`up-${i}`))])));
    if (i % 100 === 99) await until('a window at the gateway', 5000, () => atGateway.length >= i - 1).catch(() => {});
  }
  // One from an address that is not the session's: dropped in C, counted.
  client.write(sstpData(Buffer.concat([Buffer.from('ff030021', 'hex'), udp4('10.98.6.6', GATEWAY, 4000, gwPort, Buffer.from('spoofed'))])));
  await until('the burst at the gateway', 10_000, () => atGateway.length >= burst * 0.99).catch(() => {});
  result['upArrived'] = atGateway.length;
  result['upInOrder'] = atGateway.every((m, i) => i === 0 || Number(m.toString().slice(3)) > Number(atGateway[i - 1]!.toString().slice(3)));
  result['spoofedArrived'] = atGateway.some((m) => m.toString() === 'spoofed');

  // Gateway → client: the kernel routes to the TUN, the hub to the call, the driver seals.
  for (let i = 0; i < burst; i++) {
    gwSocket.send(`down-${i}`, 4000, CLIENT);
    if (i % 100 === 99) await until('a window at the client', 5000, () => stream.udp.length >= i - 1).catch(() => {});
  }
  await until('the burst at the client', 10_000, () => stream.udp.length >= burst * 0.99).catch(() => {});
  result['downArrived'] = stream.udp.length;
  result['downInOrder'] = stream.udp.every((m, i) => i === 0 || Number(m.toString().slice(5)) > Number(stream.udp[i - 1]!.toString().slice(5)));
  const stats = call.stats();
  result['stats'] = JSON.parse(JSON.stringify(stats, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  gwSocket.close();

  // The client ends the call: close_notify, then the empty piece.
  client.end();
  await until('the end of the call up', 5000, () => (pieces.get(tag) ?? []).some((b) => b.length === 0));
  result['endedWith'] = Number(call.stats()?.ended ?? 0);
  call.remove();
  calls.delete(tag);
  await until('the client socket closed', 5000, () => clientClosed).catch(() => {});
  result['clientClosed'] = clientClosed;
  return result;
}

server.listen(0, '127.0.0.1', () => {
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, version, mode] = line.trim().split(/\s+/);
    if (command !== 'run') return console.log(`error unknown command ${command}`);
    run(version as SecureVersion, mode === 'hello-first').then(
      (r) => console.log(`result ${JSON.stringify(r)}`),
      (error: unknown) => console.log(`error ${(error as Error).message}`),
    );
  });
  console.log(`ready ${hub.name}`);
});
process.on('SIGTERM', () => {
  for (const call of calls.values()) call.remove();
  engine.close();
  process.exit(0);
});
