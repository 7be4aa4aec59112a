// The kernel back end keeps a transport-mode SA's original address (encap_oa, the peer's NAT-OA)
// when a NAT port change updates its encapsulation (issue 19): the UPDSA it sends still carries it.
// The netlink socket is replaced by a recorder; the message bytes are the ones xfrm-messages.test.ts
// checks against iproute2's.
import t from 'tap';
import { KernelXfrmDataPlane } from '../../../firmware/dataplane/kernel-xfrm.ts';
import type { SaSpec } from '../../../firmware/dataplane/types.ts';
import { XfrmMsg } from '../../../firmware/dataplane/xfrm/constants.ts';
import type { NetlinkSocket } from '../../../firmware/dataplane/xfrm/netlink-socket.ts';
import { Secret } from '../../../firmware/util/secret.ts';

/** XFRMA_ENCAP is the last attribute of these messages: ports and encap_oa from its 24-byte body. */
function encapOf(message: Buffer): { type: number; sport: number; dport: number; oa: string } {
  const body = message.subarray(message.length - 24);
  return { type: message.readUInt16LE(4), sport: body.readUInt16BE(2), dport: body.readUInt16BE(4), oa: [...body.subarray(8, 12)].join('.') };
}

t.test('a NAT port change keeps encap_oa; a new original address replaces it', async (t) => {
  const sent: Buffer[] = [];
  const socket = { request: (message: Buffer) => { sent.push(message); return []; } } as unknown as NetlinkSocket;
  const dp = Reflect.construct(KernelXfrmDataPlane, [socket]) as KernelXfrmDataPlane;
  const spec: SaSpec = {
    spi: 0xc0ffee02, source: '198.51.100.7', destination: '192.0.2.2', direction: 'in', mode: 'transport', reqid: 9, replayWindow: 32, esn: false, lifetime: {},
    suite: '3des-cbc-hmac-sha1-96', keys: { encryption: new Secret(Buffer.alloc(24, 1)), integrity: new Secret(Buffer.alloc(20, 2)) },
    encapsulation: { sourcePort: 4500, destinationPort: 4500, originalAddress: '10.0.0.20' },
  };
  await dp.addSa(spec);
  t.same(encapOf(sent[0]!), { type: XfrmMsg.newSa, sport: 4500, dport: 4500, oa: '10.0.0.20' }, 'NEWSA with the original address');
  await dp.updateSa(spec, { encapsulation: { sourcePort: 31000, destinationPort: 4500 } });
  t.same(encapOf(sent[1]!), { type: XfrmMsg.updSa, sport: 31000, dport: 4500, oa: '10.0.0.20' }, 'UPDSA: the new NAT port, the same original address');
  await dp.updateSa(spec, { encapsulation: { sourcePort: 31000, destinationPort: 4500, originalAddress: '10.0.0.21' } });
  t.equal(encapOf(sent[2]!).oa, '10.0.0.21', 'a new NAT-OA replaces it');
});
