// The L2TP sessions benchmark's pure parts (issue 20): client addresses, the LNS's configuration,
// the ICMP echoes that prove each call's data path (the reply parser fuzzed), memory per session.
import fc from 'fast-check';
import t from 'tap';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { pptpServerConfig } from '../../bench/pptp-calls-plan.ts';
import { clientAddress, cpuSecondsOfStat, echoReplySeq, echoRequest, lnsConfig, MAX_CLIENTS, perSessionKb } from '../../bench/l2tp-sessions-plan.ts';

t.test('client addresses: distinct, inside 198.18.0.0/16, never .0 or .255', async (t) => {
  const seen = new Set(Array.from({ length: 5000 }, (_, i) => clientAddress(i)));
  t.equal(seen.size, 5000);
  t.equal(clientAddress(0), '198.18.0.1');
  t.equal(clientAddress(249), '198.18.0.250');
  t.equal(clientAddress(250), '198.18.1.1');
  t.ok([...seen].every((a) => /^198\.18\.\d+\.(\d+)$/.test(a) && !/\.(0|255)$/.test(a)));
  t.throws(() => clientAddress(MAX_CLIENTS), RangeError);
  t.throws(() => clientAddress(-1), RangeError);
  t.throws(() => clientAddress(1.5), RangeError);
});

t.test('LNS config: L2TP inside IPsec only, one user per session, a pool that holds them all', async (t) => {
  const c = lnsConfig({ sessions: 1000, psk: 'k'.repeat(20), password: 'Pass-word-1', wan: '192.0.2.2/24', lan: '10.2.0.1/24' });
  t.equal(c.listeners.l2tp.enabled, true);
  t.notOk(c.listeners.l2tp.allowPlain, 'L2TP only inside the transport SA');
  t.equal(c.listeners.l2tp.pool, 'clients');
  t.equal(c.pools[0]?.ipv4, '10.64.0.0/16', '65,534 addresses');
  t.equal(c.users.length, 1000);
  t.equal(new Set(c.users.map((u) => u.name)).size, 1000);
  t.equal(c.listeners.ikev2.enabled, false);
  t.equal(c.listeners.sstp.enabled, false);
  const v = validateConfig(c);
  t.ok(v.ok, JSON.stringify(v));
});

t.test('PPTP server config (issue 22): PPTP on with MPPE required, one user per call, a pool that holds them all', async (t) => {
  const c = pptpServerConfig({ calls: 1000, password: 'Pass-word-1', wan: '192.0.2.2/24', lan: '10.2.0.1/24' });
  t.equal(c.listeners.pptp.enabled, true);
  t.equal(c.listeners.pptp.pool, 'clients');
  t.not(c.listeners.pptp.mppe, 'optional', 'MPPE-128 required, as a default PPTP listener has it');
  t.equal(new Set(c.users.map((u) => u.name)).size, 1000);
  t.equal(c.listeners.ikev2.enabled, false);
  const v = validateConfig(c);
  t.ok(v.ok, JSON.stringify(v));
});

t.test('echo: a request answered by swapping addresses and setting type 0 is recognised, with its sequence', async (t) => {
  const request = echoRequest('10.64.0.7', '10.2.0.1', 777);
  t.equal(request.length, 36);
  const reply = Uint8Array.from(request);
  reply.set(request.subarray(16, 20), 12);
  reply.set(request.subarray(12, 16), 16);
  reply[20] = 0;
  // ICMP checksum: type 8 → 0 adds 0x0800 to the one's-complement sum.
  const view = new DataView(reply.buffer);
  let sum = view.getUint16(22) + 0x0800;
  sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(22, sum);
  t.equal(echoReplySeq(reply, '10.64.0.7'), 777);
  t.equal(echoReplySeq(reply, '10.64.0.8'), undefined, 'to another call');
  t.equal(echoReplySeq(request, '10.2.0.1'), undefined, 'a request is no reply');
  const corrupt = Uint8Array.from(reply);
  corrupt[30] = corrupt[30]! ^ 1;
  t.equal(echoReplySeq(corrupt, '10.64.0.7'), undefined, 'a bad checksum');
  t.equal(echoReplySeq(reply.subarray(0, 27), '10.64.0.7'), undefined, 'truncated');
});

t.test('property: the reply parser never throws on random or mutated bytes', async (t) => {
  let runs = 0;
  const base = echoRequest('10.64.0.1', '10.2.0.1', 1);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.array(fc.tuple(fc.nat(35), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (random, edits) => {
    runs++;
    const mutated = Uint8Array.from(base);
    for (const [at, value] of edits) mutated[at] = value;
    for (const packet of [random, mutated]) {
      const seq = echoReplySeq(packet, '10.2.0.1');
      if (seq !== undefined && (seq < 0 || seq > 0xffff)) return false;
    }
    return true;
  }), { numRuns: 500 });
  t.equal(runs, 500);
});

t.test('memory per session: deltas over the sessions, in KB', async (t) => {
  const m = (rss: number, heapTotal: number, heapUsed: number, external: number): NodeJS.MemoryUsage => ({ rss, heapTotal, heapUsed, external, arrayBuffers: 0 });
  const kb = perSessionKb(m(100 << 20, 40 << 20, 30 << 20, 2 << 20), m(200 << 20, 80 << 20, 70 << 20, 4 << 20), 1024);
  t.equal(kb.rss, 100);
  t.equal(kb.heap, 40);
  t.equal(kb.external, 2);
  t.equal(kb.outsideHeap, 100 - 40 - 2);
  t.equal(perSessionKb(m(1, 0, 0, 0), m(1025, 0, 0, 0), 0).rss, 1, 'no sessions: divided by one, never by zero');
});

t.test('CPU seconds from /proc/PID/stat: fields 14 and 15 after the command name (spaces and parentheses in it)', async (t) => {
  const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 11 0 1000 1000000 5000 18446744073709551615';
  t.equal(cpuSecondsOfStat(stat), 18.01);
  t.equal(cpuSecondsOfStat(stat, 1000), 1.801);
  t.equal(cpuSecondsOfStat('no command name'), undefined);
  t.equal(cpuSecondsOfStat('1 (x) S 1 2'), undefined, 'too short');
  let runs = 0;
  fc.assert(fc.property(fc.string({ maxLength: 120 }), (s) => {
    runs++;
    const v = cpuSecondsOfStat(s);
    return v === undefined || (Number.isFinite(v) && v >= 0);
  }), { numRuns: 300 });
  t.equal(runs, 300);
});
