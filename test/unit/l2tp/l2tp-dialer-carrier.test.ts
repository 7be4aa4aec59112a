// The L2TP dialer on a carrier instead of its socket (issue 20; the L2TP load benchmark's clients):
// it opens its control connection through the carrier once IPsec is up, survives junk coming back,
// and closes the carrier after hanging up.
import t from 'tap';
import { decodeControlMessage } from '../../../firmware/l2tp/control-message.ts';
import { MessageType } from '../../../firmware/l2tp/avp-types.ts';
import { decodeL2tpPacket } from '../../../firmware/l2tp/header.ts';
import { L2tpDialer } from '../../../firmware/l2tp/l2tp-dialer.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { waitUntil } from '../../lab/peers/wait.ts';

function dialer(ipsec: () => Promise<string | undefined>) {
  const sent: Uint8Array[] = [];
  let receive: ((d: Uint8Array) => void) | undefined;
  let closed = 0;
  const d = new L2tpDialer({
    host: '192.0.2.2', localAddress: '198.18.0.1', hostName: 'load0', user: 'load0', password: new Secret('pw'),
    ipsec, ipsecUp: () => true, logger: createLogger({ sink: () => {} }),
    carrier: (r) => {
      receive = r;
      return { send: (datagram) => void sent.push(datagram), close: () => void closed++ };
    },
  });
  return { d, sent, receive: (b: Uint8Array) => receive?.(b), closed: () => closed, opened: () => receive !== undefined };
}

t.test('SCCRQ goes out through the carrier once IPsec is up; junk back is ignored; hang-up closes the carrier', async (t) => {
  const c = dialer(async () => undefined);
  await waitUntil('the SCCRQ', 5_000, () => c.sent.length > 0);
  const p = decodeL2tpPacket(c.sent[0]!);
  t.ok(p.ok && p.value.header.type === 'control');
  const m = p.ok ? decodeControlMessage(p.value.payload) : undefined;
  t.ok(m?.ok && m.value.kind === 'message' && m.value.messageType === MessageType.SCCRQ, 'a Start-Control-Connection-Request');
  for (const junk of [new Uint8Array(0), new Uint8Array([0xc8, 0x02, 0, 0]), new Uint8Array(64).fill(0xff)]) c.receive(junk);
  t.equal(c.closed(), 0);
  c.d.disconnect();
  t.match(await c.d.closed, /hang-up/);
  await waitUntil('the carrier closed', 5_000, () => c.closed() === 1);
  t.equal(c.closed(), 1);
});

t.test('IPsec refused: the carrier is never opened and the call fails with why', async (t) => {
  const c = dialer(async () => 'no SA');
  await t.rejects(c.d.ready, /no SA/);
  t.notOk(c.opened());
  t.equal(c.sent.length, 0);
});
