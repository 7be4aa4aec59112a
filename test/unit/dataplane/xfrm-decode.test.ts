// What the kernel sends the XFRM back end, decoded: acknowledgements and errors, an SA's counters,
// acquire and expire events (IPv4 and IPv6); arbitrary and mutated datagrams never throw.
import fc from 'fast-check';
import t from 'tap';
import { SizeOf, XfrmAttr, XfrmMsg } from '../../../firmware/dataplane/xfrm/constants.ts';
import { netlinkErrno, readEvent, readSa, splitMessages } from '../../../firmware/dataplane/xfrm/decode.ts';
import { attribute, netlinkMessage } from '../../../firmware/dataplane/xfrm/netlink.ts';
import { address, selector, writeAddress } from '../../../firmware/dataplane/xfrm/structs.ts';

function acquire(source: string, destination: string, reqid: number): Buffer {
  const body = Buffer.alloc(SizeOf.id + 16 + SizeOf.selector + SizeOf.userpolicyInfo + 16);
  const policyAt = SizeOf.id + 16 + SizeOf.selector;
  selector({ prefix: '10.9.9.9/32' }, { prefix: '10.8.8.8/32' }).copy(body, SizeOf.id + 16); // the packet's own selector
  selector({ prefix: source, port: 1234, protocol: 17 }, { prefix: destination }).copy(body, policyAt);
  body.writeUInt8(1, policyAt + 160); // dir out
  const template = Buffer.alloc(SizeOf.userTmpl);
  template.writeUInt32LE(reqid, 44);
  return netlinkMessage(XfrmMsg.acquire, 0, 0, body, [attribute(XfrmAttr.tmpl, template)]);
}

function expire(spi: number, destination: string, hard: boolean): Buffer {
  const body = Buffer.alloc(SizeOf.usersaInfo + 8);
  const dst = address(destination);
  writeAddress(body, 56, dst);
  body.writeUInt32BE(spi, 72);
  body.writeUInt16LE(dst.family === 4 ? 2 : 10, 212);
  body.writeUInt8(hard ? 1 : 0, SizeOf.usersaInfo);
  return netlinkMessage(XfrmMsg.expire, 0, 0, body);
}

t.test('acquire: the policy it matched and the reqid of its template', async (t) => {
  t.same(readEvent(acquire('10.1.0.0/24', '10.2.0.0/24', 42)), {
    type: 'acquire', reqid: 42, policy: { direction: 'out', source: { prefix: '10.1.0.0/24', protocol: 17, port: 1234 }, destination: { prefix: '10.2.0.0/24', protocol: 17 } },
  });
  t.match(readEvent(acquire('2001:db8:1::/48', 'fd00::/64', 7)), { reqid: 7, policy: { source: { prefix: '2001:db8:1::/48' }, destination: { prefix: 'fd00::/64' } } }, 'IPv6 in its short form');
});

t.test('expire: soft and hard, IPv4 and IPv6', async (t) => {
  t.same(readEvent(expire(0xc0ffee01, '192.0.2.2', false)), { type: 'expire', hard: false, sa: { spi: 0xc0ffee01, destination: '192.0.2.2' } });
  t.same(readEvent(expire(0x100, '2001:db8::2', true)), { type: 'expire', hard: true, sa: { spi: 0x100, destination: '2001:db8::2' } });
});

t.test('acknowledgements, errors and SAs', async (t) => {
  const error = (errno: number) => {
    const body = Buffer.alloc(4);
    body.writeInt32LE(-errno, 0);
    return netlinkMessage(2, 0, 9, body);
  };
  t.equal(netlinkErrno(error(0)), 0, 'an ACK');
  t.equal(netlinkErrno(error(17)), 17, 'EEXIST');
  t.equal(netlinkErrno(expire(1, '192.0.2.2', false)), undefined, 'not an error message');
  const info = Buffer.alloc(SizeOf.usersaInfo);
  info.writeUInt32BE(0xabcdef01, 72);
  info.writeBigUInt64LE(123456n, 160);
  info.writeBigUInt64LE(789n, 168);
  info.writeUInt32LE(3, 196);
  info.writeUInt32LE(4, 200);
  t.same(readSa(netlinkMessage(XfrmMsg.newSa, 0, 1, info)), { spi: 0xabcdef01, counters: { bytes: 123456n, packets: 789n, replayDrops: 3n, authFailures: 4n } });
  t.throws(() => readSa(error(0)), { code: 'POSTERN_ERR_DATAPLANE_INVALID' }, 'anything but an SA is a typed error');
  t.equal(splitMessages(Buffer.concat([error(0), expire(5, '192.0.2.9', true)])).length, 2, 'two messages in one datagram');
});

t.test('property: random and mutated datagrams never throw', async (t) => {
  const seeds = [acquire('10.1.0.0/24', '10.2.0.0/24', 1), expire(9, '192.0.2.2', true)];
  fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat()).map(([seed, flips, cut]) => {
      const b = Buffer.from(seed);
      for (const [at, value] of flips) b[at % b.length] = value;
      return b.subarray(0, Math.max(1, b.length - (cut % 40)));
    }),
  ), (datagram) => {
    for (const message of splitMessages(datagram)) {
      readEvent(message);
      netlinkErrno(message);
    }
  }), { numRuns: 3000 });
  t.pass('3,000 datagrams decoded or skipped');
});
