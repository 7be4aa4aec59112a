// A flood of IKE_SA_INIT requests, as a forger or a host behind the victim's NAT sends them: a fresh
// SPI each, `rate` per second to `target`:500 for `seconds` (bounded in count and time), from one
// UDP socket. Prints `flooding` at the start and `sent N` when done. Config JSON: {target, rate, seconds}.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createDh } from '../../../firmware/ike/crypto/dh.ts';
import { proposalsFromSpecs } from '../../../firmware/ike/engine/payload-helpers.ts';
import { encodeIkeMessage } from '../../../firmware/ike/message.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { ExchangeType, ProtocolId } from '../../../firmware/ike/registry/numbers.ts';

const { target, rate, seconds } = JSON.parse(process.argv[2] ?? '{}') as { target: string; rate: number; seconds: number };
const ke = createDh(14)!.publicValue; // one public value for all: the responder's work is what matters
const proposals = proposalsFromSpecs([parseProposal('aes256-sha256-modp2048', 'ike')!], ProtocolId.IKE, new Uint8Array());
const socket = createSocket('udp4');
const total = Math.min(100_000, Math.round(rate * seconds));
let sent = 0;
process.stdout.write('flooding\n');
const perTick = Math.max(1, Math.round(rate / 100));
const timer = setInterval(() => {
  for (let i = 0; i < perTick && sent < total; i++, sent++) {
    const packet = encodeIkeMessage({ initiatorSpi: randomBytes(8).readBigUInt64BE(0) | 1n, responderSpi: 0n, exchangeType: ExchangeType.IKE_SA_INIT, initiator: true, response: false, higherVersion: false, messageId: 0 }, [
      { kind: 'SA', proposals }, { kind: 'KE', ke: { group: 14, data: ke } }, { kind: 'Nonce', nonce: randomBytes(32) },
    ]);
    socket.send(packet, 500, target);
  }
  if (sent >= total) {
    clearInterval(timer);
    setTimeout(() => {
      socket.close();
      process.stdout.write(`sent ${sent}\n`);
    }, 100);
  }
}, 10);
