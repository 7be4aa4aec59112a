// The commit bit in Quick Mode (RFC 2408 §3.1): when the peer sets it, the side that did not must
// not use the new SA until the peer's informational with N(CONNECTED) under the Quick Mode's message
// ID. Postern never sets the bit; the tests set it on the wire (the header is outside HASH(1)/(2)
// and outside the encryption) and play the peer's CONNECTED with its own keys.
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import type { Phase1Sa } from '../../../firmware/ikev1/engine/ikev1-sa.ts';
import { sealInformational } from '../../../firmware/ikev1/engine/protect.ts';
import { DOI_IPSEC, NotifyType, ProtocolId } from '../../../firmware/ikev1/registry.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair, type InFlight } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const COMMIT = 0x02;

function pair() {
  const base = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('ca'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('cb'));
  return new Ikev1Pair(a, b, { a: A, b: B });
}

const quickMode = (p: InFlight) => p.packet[18] === 32;
const connected = (sa: Phase1Sa, mid: number) =>
  sealInformational(sa, mid, [{ kind: 'N', notification: { doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, type: NotifyType.CONNECTED, spi: new Uint8Array(), data: new Uint8Array() } }]);

for (const setter of ['initiator', 'responder'] as const) {
  t.test(`the ${setter} sets the commit bit: the other side's child waits for CONNECTED`, async (t) => {
    const p = pair();
    const from = setter === 'initiator' ? A : B;
    let mid = 0;
    p.filter = (f) => {
      if (quickMode(f) && f.from.address === from && mid === 0) {
        mid = Buffer.from(f.packet).readUInt32BE(20);
        const flagged = Buffer.from(f.packet);
        flagged[19] = flagged[19]! | COMMIT;
        f.packet = flagged;
      }
      return 'deliver';
    };
    p.take('a', p.engines.a.initiate('to-b', { address: A, port: 500 }, 0));
    p.run(20_000);
    const waiter = setter === 'initiator' ? 'b' : 'a';
    const setterSide = setter === 'initiator' ? 'a' : 'b';
    t.ok(mid !== 0, 'the Quick Mode went out with the commit bit');
    t.equal(p.of(waiter, 'install-child').length, 0, 'the side that did not set it holds the child back');
    t.equal(p.of(setterSide, 'install-child').length, 1, 'the setter installed its own');
    t.ok(p.logs(waiter).some((l) => /the peer set the commit bit; the child waits for its CONNECTED/.test(l)));
    // The setter's CONNECTED, under the Quick Mode's message ID.
    const setterSa = p.engines[setterSide].sas[0]!;
    const to = { address: setter === 'initiator' ? B : A, port: 500 };
    const out = p.engines[waiter].handlePacket(connected(setterSa, mid), { address: from, port: 500 }, to, p.now + 100);
    const installed = out.filter((x) => x.type === 'install-child');
    t.equal(installed.length, 1, 'CONNECTED puts the child in');
    t.equal(installed[0]?.type === 'install-child' && installed[0].child.outbound.spi, p.of(setterSide, 'install-child')[0]?.child.inbound.spi, 'the same SA the setter holds');
    const again = p.engines[waiter].handlePacket(connected(setterSa, mid + 1), { address: from, port: 500 }, to, p.now + 200);
    t.equal(again.filter((x) => x.type === 'install-child').length, 0, 'a CONNECTED for no waiting Quick Mode does nothing');
  });
}
