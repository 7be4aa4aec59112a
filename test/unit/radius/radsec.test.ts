// RadSec (RFC 6614, issue 21) without a network: the stream framer gives back exactly the packets
// written however the bytes are split, and calls a bad Length broken; the engine treats a TLS
// server as one Identifier space for auth and accounting (§2.5), never retransmits on it, answers
// an accounting request that comes back on the auth port, and fails over at once when the shell
// says the connection is down (a dead TLS server holds nothing up), reviving it by Status-Server.
import fc from 'fast-check';
import t from 'tap';
import { Attr, textAttr } from '../../../firmware/radius/attributes.ts';
import { signResponse } from '../../../firmware/radius/authenticators.ts';
import { RadiusClientEngine, type RadiusAction, type RadiusEvent } from '../../../firmware/radius/client-engine.ts';
import { Code } from '../../../firmware/radius/packet.ts';
import { RadsecStream } from '../../../firmware/radius/radsec-stream.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const secret = (s: string) => new Secret<Uint8Array>(Buffer.from(s));
const servers = [
  { name: 'tls', address: '10.0.0.1', authPort: 2083, acctPort: 2083, secret: secret('radsec'), transport: 'tls' as const },
  { name: 'udp', address: '10.0.0.2', authPort: 1812, acctPort: 1813, secret: secret('two') },
];
let n = 0;
const random = { bytes: (k: number) => Uint8Array.from({ length: k }, (_, i) => (++n * 7 + i) & 0xff), fraction: () => 0.5 };
const engine = () => new RadiusClientEngine({ servers, random, initialTimeoutMs: 1000, maxRetransmits: 2, statusServerIntervalMs: 5000 });
const sends = (a: RadiusAction[]) => a.filter((x): x is Extract<RadiusAction, { type: 'Send' }> => x.type === 'Send');
const completes = (a: RadiusAction[]) => a.filter((x): x is Extract<RadiusAction, { type: 'Complete' }> => x.type === 'Complete');
const auth: RadiusEvent = { type: 'CmdAccessRequest', id: 'a', attributes: [textAttr(Attr.UserName, 'alice')], userPassword: new Secret(Buffer.from('pw')) };
const acct: RadiusEvent = { type: 'CmdAccountingRequest', id: 'b', attributes: [textAttr(Attr.UserName, 'alice')] };

t.test('the framer: any split of any packets gives them back in order; a bad Length breaks the stream', async (t) => {
  const packet = fc.integer({ min: 20, max: 300 }).chain((len) => fc.uint8Array({ minLength: len, maxLength: len }).map((b) => { b[2] = len >> 8; b[3] = len & 0xff; return b; }));
  fc.assert(fc.property(fc.array(packet, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), (packets, cuts) => {
    const all = Buffer.concat(packets);
    const s = new RadsecStream();
    const out: Uint8Array[] = [];
    for (let at = 0, i = 0; at < all.length; i++) {
      const size = cuts[i % cuts.length]!;
      const r = s.push(all.subarray(at, at + size));
      if ('broken' in r) return false;
      out.push(...r.packets);
      at += size;
    }
    return out.length === packets.length && out.every((p, i) => Buffer.from(p).equals(Buffer.from(packets[i]!)));
  }));
  t.match(new RadsecStream().push(Uint8Array.of(1, 2, 0, 19)), { broken: /length 19/ });
  t.match(new RadsecStream().push(Uint8Array.of(1, 2, 0x10, 1)), { broken: /length 4097/ });
});

t.test('one Identifier space, no retransmission, accounting answered on the one port', async (t) => {
  const e = engine();
  const [a] = sends(e.handle(auth, 0));
  const [b] = sends(e.handle(acct, 0));
  t.match(a, { server: 'tls', port: 2083 });
  t.match(b, { server: 'tls', port: 2083 });
  t.not(a!.bytes[1], b!.bytes[1], 'auth and accounting take different Identifiers on the one connection');
  t.same(sends(e.handle({ type: 'Timeout' }, 5000)), [], 'nothing resent over TLS before the wait is over');
  const reply = signResponse(Code.AccountingResponse, b!.bytes[1]!, [], b!.bytes.subarray(4, 20), secret('radsec'), true);
  const [done] = completes(e.handle({ type: 'RcvDatagram', address: '10.0.0.1', port: 2083, bytes: reply }, 10));
  t.match(done, { id: 'b', result: { outcome: 'accounting-response', server: 'tls' } });
  t.equal(e.counters()['tls']?.retransmissions, 0);
});

t.test('the connection down: requests fail over at once, the server is dead until Status-Server answers', async (t) => {
  const e = engine();
  sends(e.handle(auth, 0));
  const moved = e.handle({ type: 'TransportDown', server: 'tls', why: 'connect ECONNREFUSED' }, 5);
  t.match(moved.find((x) => x.type === 'ServerDown'), { server: 'tls', why: 'connect ECONNREFUSED' });
  t.match(sends(moved), [{ server: 'udp', port: 1812 }], 'sent to the next server at once, not after a timeout');
  t.same(sends(e.handle(acct, 6)).map((s) => s.server), ['udp'], 'new requests skip the dead TLS server');
  t.equal(e.counters()['tls']?.alive, false);
  const probe = sends(e.handle({ type: 'Timeout' }, 5010)).find((s) => s.server === 'tls');
  t.equal(probe?.bytes[0], Code.StatusServer, 'a Status-Server probe over the connection');
  const ok = signResponse(Code.AccessAccept, probe!.bytes[1]!, [], probe!.bytes.subarray(4, 20), secret('radsec'), true);
  t.match(e.handle({ type: 'RcvDatagram', address: '10.0.0.1', port: 2083, bytes: ok }, 5020).find((x) => x.type === 'ServerUp'), { server: 'tls' });
  t.equal(e.counters()['tls']?.alive, true);
});
