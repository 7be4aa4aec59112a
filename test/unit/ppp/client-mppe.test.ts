// The dialing PPP link with MPPE required (PPTP sites, issue 22) against the gateway's link with MPPE
// required: MS-CHAPv2 gives both ends matching keys, CCP agrees MPPE-128 stateless, IP crosses
// encrypted both ways; plain IP is refused; a server that rejects CCP ends the call.
import t from 'tap';
import { pppAuthenticatorFor } from '../../../firmware/access/ppp-authenticators.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { dialingLink } from '../../../firmware/ppp/client-call.ts';
import type { ClientLinkAction } from '../../../firmware/ppp/client-link.ts';
import { encodePppFrame, PppProtocol } from '../../../firmware/ppp/frame.ts';
import { PppLink, type LinkAction } from '../../../firmware/ppp/link.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { PppWire } from '../../helpers/ppp-wire.ts';
import { seededBytes } from './sim.ts';

const users = (name: string) => (name === 'branch' ? credentialFromPassword('Branch-Pass-123') : undefined);
const PACKET = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 1, 0, 10, 10, 2, 0, 10]);

function run(serverMppe: boolean) {
  const gateway = new PppLink({
    lcp: { random: seededBytes(1), auth: ['mschapv2'] },
    createAuthenticator: (m) => pppAuthenticatorFor(m, { users, random: seededBytes(2) }),
    ipcp: { localAddress: '10.0.0.1', allocate: () => ({ ip: '10.10.0.5' }) },
    ...(serverMppe ? { mppe: { mode: 'require' as const, strengths: [128 as const], allowStateful: false } } : {}),
  });
  const client = dialingLink({ user: 'branch', password: new Secret('Branch-Pass-123'), askDns: false, mppe: { mode: 'require', strengths: [128], allowStateful: false } });
  const wire = new PppWire<LinkAction, ClientLinkAction>(gateway, client);
  wire.takeA(gateway.lowerUp(0));
  wire.takeB(client.lowerUp(0));
  wire.run(60_000, () => (gateway.mppeActive && client.mppeActive && wire.seenB.some((a) => a.type === 'network-up')) || client.phase === 'dead');
  return { gateway, client, wire };
}

t.test('MPPE-128 stateless agreed with the gateway; IP crosses encrypted both ways', async (t) => {
  const { gateway, client, wire } = run(true);
  t.ok(client.mppeActive && gateway.mppeActive, 'MPPE on at both ends');
  t.same(client.ccpHandler.negotiated, { send: { strength: 128, stateless: true }, receive: { strength: 128, stateless: true } });
  const out = client.encapsulate(PppProtocol.IPv4, PACKET);
  t.equal(out?.protocol, PppProtocol.CompressedDatagram, 'sent as a Compressed Datagram');
  const atGateway = gateway.receiveFrame(encodePppFrame({ protocol: out!.protocol, information: out!.information }, { addressControl: true }), wire.now);
  t.match(atGateway.find((a) => a.type === 'deliver'), { packet: PACKET }, 'the gateway decrypts what we sent');
  const back = gateway.encapsulate(PppProtocol.IPv4, PACKET)!;
  const atClient = client.receiveFrame(encodePppFrame({ protocol: back.protocol, information: back.information }, { addressControl: true }), wire.now);
  t.match(atClient.find((a) => a.type === 'deliver'), { packet: PACKET }, 'we decrypt what it sent');
  const plain = client.receiveFrame(encodePppFrame({ protocol: PppProtocol.IPv4, information: PACKET }, { addressControl: true }), wire.now);
  t.notOk(plain.some((a) => a.type === 'deliver'), 'plain IP is not delivered');
  t.ok(client.drops['unencrypted IP while MPPE is required or on']);
});

t.test('a gateway that will not do MPPE: the required MPPE ends the call, no IP leaves in clear', async (t) => {
  const { client, wire } = run(false);
  wire.run(wire.now + 60_000, () => client.phase === 'dead');
  t.equal(client.phase, 'dead');
  t.match(wire.seenB.find((a) => a.type === 'dead'), { reason: /MPPE required/ });
  t.equal(client.encapsulate(PppProtocol.IPv4, PACKET), undefined);
});
