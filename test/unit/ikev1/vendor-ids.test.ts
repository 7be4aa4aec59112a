// The vendor IDs a Windows 7+ L2TP/IPsec client sends in Main Mode message 1 (the well-known values,
// not a capture): the peer is named in the log, NAT-T picks the RFC, fragmentation is seen.
import t from 'tap';
import { announcesFragmentation } from '../../../firmware/ikev1/fragments.ts';
import { natTraversalOf, peerSoftware, peerSupportsDpd } from '../../../firmware/ikev1/engine/vendor-ids.ts';

const hex = (h: string) => Buffer.from(h, 'hex');
const windows10 = [
  hex('1e2b516905991c7d7c96fcbfb587e46100000009'), // MS NT5 ISAKMPOAKLEY, version 9
  hex('4a131c81070358455c5728f20e95452f'), // RFC 3947
  hex('90cb80913ebb696e086381b5ec427b1f'), // draft-ietf-ipsec-nat-t-ike-02\n
  hex('4048b7d56ebce88525e7de7f00d6c2d3'), // FRAGMENTATION
  hex('fb1de3cdf341b7ea16b7e5be0855f120'), // MS-Negotiation Discovery Capable
  hex('e3a5966a76379fe707228231e5ce8652'), // IKE CGA version 1
];

t.test('a Windows client is recognised by its vendor IDs', async (t) => {
  t.equal(peerSoftware(windows10), 'Windows (MS NT5 ISAKMPOAKLEY 9)');
  t.equal(natTraversalOf(windows10), 'rfc', 'RFC 3947 preferred over the draft it also sends');
  t.ok(windows10.some(announcesFragmentation), 'IKE fragmentation announced');
  t.notOk(peerSupportsDpd(windows10), 'Windows does not announce DPD');
  t.equal(peerSoftware([hex('fb1de3cdf341b7ea16b7e5be0855f120')]), 'MS-Negotiation Discovery Capable');
  t.equal(peerSoftware([hex('00112233445566778899aabbccddeeff')]), undefined, 'an unknown vendor is not named');
});
