/**
 * Property tests: random and mutated packets never make a decoder or an engine throw; what decodes
 * encodes back to the same bytes; malformed input is counted; engines only ever emit well-formed packets.
 */
import fc from 'fast-check';
import t from 'tap';
import { decodeControlPacket, decodeEcho, decodeOptions, decodeProtocolReject, encodeConfigure, encodeControlPacket, encodeOptions, rejectedCode } from '../../../firmware/ppp/control-packet.ts';
import { decodePppFrame, encodePppFrame } from '../../../firmware/ppp/frame.ts';
import { Fsm, FsmState } from '../../../firmware/ppp/fsm.ts';
import type { FsmProtocol, PppAction } from '../../../firmware/ppp/fsm-protocol.ts';
import { CcpHandler } from '../../../firmware/ppp/ccp.ts';
import { IpcpHandler } from '../../../firmware/ppp/ipcp.ts';
import { authMethodOf } from '../../../firmware/ppp/lcp.ts';
import { LcpEngine } from '../../../firmware/ppp/lcp-engine.ts';
import { seededBytes } from './sim.ts';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));

/** Valid packets to mutate: LCP, IPCP, CCP, echo, terminate, rejects. */
const SEEDS = [
  hex('01 01 00 14 02 06 00 00 00 00 05 06 12 34 56 78 07 02 08 02'),
  hex('01 07 00 0f 01 04 05 78 03 05 c2 23 81 05 06 0a 0b 0c 0d'),
  hex('02 00 00 0f 01 04 05 78 03 05 c2 23 81 05 06 0a 0b 0c 0d'),
  hex('03 00 00 08 03 04 c0 23'),
  hex('04 00 00 09 03 05 c2 23 81'),
  hex('01 05 00 16 03 06 00 00 00 00 81 06 00 00 00 00 83 06 00 00 00 00'),
  hex('01 01 00 11 12 06 01 00 00 e0 1a 04 78 00 15 03 2f'),
  hex('05 02 00 06 68 69'),
  hex('06 02 00 04'),
  hex('07 03 00 08 01 01 00 04'),
  hex('08 03 00 0a 80 57 01 01 00 04'),
  hex('09 07 00 0a 12 34 56 78 ab cd'),
  hex('0a 07 00 08 12 34 56 78'),
  hex('0b 07 00 08 00 00 00 00'),
  hex('0c 01 00 0a 00 00 00 00 4d 53'),
];

/** A valid packet with bytes overwritten, cut short or extended: close enough to get past first checks. */
const mutated = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    edits: fc.array(fc.tuple(fc.nat({ max: 40 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 6 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const out = Uint8Array.from([...seed.subarray(0, cut ?? seed.length), ...tail]);
    for (const [at, value] of edits) if (at < out.length) out[at] = value;
    return out;
  });
const anyPacket = fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated);

t.test('decoders never throw on 2,000 random and 2,000 mutated inputs', async (t) => {
  const check = (bytes: Uint8Array) => {
    for (const pfc of [false, true]) decodePppFrame(bytes, { pfc });
    decodeOptions(bytes);
    decodeEcho(bytes);
    decodeProtocolReject(bytes);
    rejectedCode(bytes);
    authMethodOf(bytes);
    const p = decodeControlPacket(bytes);
    if (p.ok) decodeOptions(p.value.data);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), check), { numRuns: 2000 });
  fc.assert(fc.property(mutated, check), { numRuns: 2000 });
  t.pass('no decoder threw');
});

t.test('what decodes encodes back to the same bytes', async (t) => {
  fc.assert(
    fc.property(anyPacket, (bytes) => {
      const p = decodeControlPacket(bytes);
      if (p.ok && encodeControlPacket(p.value).join() !== bytes.subarray(0, 4 + p.value.data.length).join()) return false;
      const o = decodeOptions(bytes);
      if (o.ok && encodeOptions(o.value).join() !== bytes.join()) return false;
      const f = decodePppFrame(bytes, { pfc: true });
      if (!f.ok) return true;
      const short = bytes[f.value.addressControl ? 2 : 0] !== undefined && (bytes[f.value.addressControl ? 2 : 0]! & 1) === 1;
      return encodePppFrame(f.value, { addressControl: f.value.addressControl, compressProtocol: short }).join() === bytes.join();
    }),
    { numRuns: 2000 },
  );
  t.pass('round trips held');
});

/** Ways to reach Opened with each protocol, answering our own request and accepting the peer's. */
function openedFsm(handler: FsmProtocol, peerRequest: Uint8Array): Fsm {
  const fsm = new Fsm(handler);
  fsm.up(0);
  const ours = fsm.open(0).find((a) => a.type === 'send')!;
  fsm.receive(peerRequest, 0);
  if (ours.type === 'send') fsm.receive(encodeControlPacket({ code: 2, identifier: ours.packet[1]!, data: ours.packet.subarray(4) }), 0);
  return fsm;
}

interface Target {
  receive(packet: Uint8Array, now: number): PppAction[];
  tick(now: number): PppAction[];
  readonly state: number;
  readonly malformed: number;
}

const targets: Record<string, () => Target> = {
  'LCP engine, Req-Sent': () => {
    const lcp = new LcpEngine({ random: seededBytes(1) });
    lcp.up(0);
    lcp.open(0);
    return { receive: (p, n) => lcp.receive(p, n), tick: (n) => lcp.tick(n), get state() { return lcp.state; }, get malformed() { return lcp.fsm.drops['malformed'] ?? 0; } };
  },
  'LCP engine, Opened': () => {
    const lcp = new LcpEngine({ random: seededBytes(2), auth: [] });
    lcp.up(0);
    const ours = lcp.open(0).find((a) => a.type === 'send')!;
    lcp.receive(encodeConfigure(1, 1, []), 0);
    if (ours.type === 'send') lcp.receive(encodeControlPacket({ code: 2, identifier: ours.packet[1]!, data: ours.packet.subarray(4) }), 0);
    if (!lcp.opened) throw new Error('setup did not reach Opened');
    return { receive: (p, n) => lcp.receive(p, n), tick: (n) => lcp.tick(n), get state() { return lcp.state; }, get malformed() { return lcp.fsm.drops['malformed'] ?? 0; } };
  },
  'IPCP, Opened': () => {
    const fsm = openedFsm(new IpcpHandler({ localAddress: '10.0.0.1', allocate: () => ({ ip: '10.0.0.2', dns1: '10.0.0.53' }) }), encodeConfigure(1, 1, [{ type: 3, data: hex('0a 00 00 02') }]));
    return { receive: (p, n) => fsm.receive(p, n), tick: (n) => fsm.tick(n), get state() { return fsm.state; }, get malformed() { return fsm.drops['malformed'] ?? 0; } };
  },
  'CCP, Opened': () => {
    const fsm = openedFsm(new CcpHandler(), hex('01 01 00 04'));
    return { receive: (p, n) => fsm.receive(p, n), tick: (n) => fsm.tick(n), get state() { return fsm.state; }, get malformed() { return fsm.drops['malformed'] ?? 0; } };
  },
};

for (const [name, make] of Object.entries(targets)) {
  t.test(`${name}: 2,000 random and mutated packets never throw; malformed ones are counted`, async (t) => {
    const start = make();
    t.ok(start.state === FsmState.Opened || name.includes('Req-Sent'), `set up in ${start.state}`);
    fc.assert(
      fc.property(fc.array(fc.tuple(anyPacket, fc.nat({ max: 5000 })), { minLength: 10, maxLength: 10 }), (steps) => {
        const target = make();
        let now = 0;
        for (const [packet, wait] of steps) {
          now += wait;
          const before = target.malformed;
          const out = [...target.tick(now), ...target.receive(packet, now)];
          if (!decodeControlPacket(packet).ok && target.malformed !== before + 1) return false;
          // Whatever we send is itself a well-formed control packet.
          if (!out.every((a) => a.type !== 'send' || decodeControlPacket(a.packet).ok)) return false;
          if (target.state < 0 || target.state > 9) return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
    t.pass('200 runs of 10 packets each, nothing thrown');
  });
}
