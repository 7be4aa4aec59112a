// Issue 21: Acct-Terminate-Cause NAS-Reboot. Each open session's would-be Stop is kept on disk (at its
// Start and each Interim-Update, gone at its Stop); a run that dies without its Stops leaves them, and
// the next start takes them (the file starts over empty) and sends them ahead of the Accounting-On.
// Torn and foreign lines are skipped and counted; the file is compacted; fuzzed replay never throws.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { openListenerRadius } from '../../../firmware/auth/listener-radius.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { Attr, integerOf, textOf } from '../../../firmware/radius/attributes.ts';
import { signResponse } from '../../../firmware/radius/authenticators.ts';
import { Code, decodeRadiusPacket, type RadiusPacket } from '../../../firmware/radius/packet.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { OpenSessionLedger, replayOpenSessions } from '../../../firmware/radius/open-sessions.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { SessionAccounting } from '../../../firmware/radius/session-accounting.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-open-sessions-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function accountingWith(ledger: OpenSessionLedger, clock: { now: number }) {
  const sent: Array<readonly RadiusAttribute[]> = [];
  const accounting = new SessionAccounting({
    client: { account: async (attributes) => (sent.push(attributes), { outcome: 'timeout', tried: [] }) },
    nas: { identifier: 'branch-7' }, runId: 'r1', now: () => clock.now, openSessions: ledger,
  });
  return { accounting, sent };
}

t.test('a session left open by a crash gets its Stop with NAS-Reboot at the next start, with its last counters', async (t) => {
  const file = join(dir, 'radius-open-sstp.jsonl');
  const clock = { now: 1_000_000 };
  const first = new OpenSessionLedger(file, { now: () => clock.now });
  t.same(first.takeLeftOpen(), [], 'nothing from before');
  const { accounting } = accountingWith(first, clock);
  const alice = { id: 1, user: 'alice', ipv4: '10.10.0.5', peer: '198.51.100.7', since: clock.now, bytesIn: 0, bytesOut: 0 };
  const bob = { id: 2, user: 'bob', ipv4: '10.10.0.6', peer: '198.51.100.8', since: clock.now, bytesIn: 0, bytesOut: 0 };
  await accounting.start(alice);
  await accounting.start(bob);
  clock.now += 90_000;
  await accounting.interim({ ...alice, bytesIn: 1234, bytesOut: 5678, packetsIn: 12, packetsOut: 34 });
  await accounting.stop({ ...bob, bytesIn: 1, bytesOut: 2 }, 'the client closed the session');
  // The process dies here: no Stop for alice. The next run reads what it left.
  const next = new OpenSessionLedger(file);
  const left = next.takeLeftOpen();
  t.equal(left.length, 1, 'one session left open (bob\'s Stop was sent)');
  const stop = left[0]!;
  t.equal(integerOf(stop, Attr.AcctStatusType), 2, 'a Stop');
  t.equal(integerOf(stop, Attr.AcctTerminateCause), 11, 'Acct-Terminate-Cause NAS-Reboot');
  t.equal(textOf(stop, Attr.UserName), 'alice');
  t.equal(textOf(stop, Attr.AcctSessionId), accounting.sessionId(alice), 'the Acct-Session-Id of her Start');
  t.equal(integerOf(stop, Attr.AcctInputOctets), 1234, 'the counters of her last Interim-Update');
  t.equal(integerOf(stop, Attr.AcctSessionTime), 90, 'and its session time');
  t.equal(readFileSync(file, 'utf8'), '', 'the file starts over empty');
  t.same(new OpenSessionLedger(file).takeLeftOpen(), [], 'taken once');
});

t.test('a clean end leaves nothing; stale lines are compacted away', async (t) => {
  const file = join(dir, 'radius-open-l2tp.jsonl');
  const clock = { now: 5_000_000 };
  const ledger = new OpenSessionLedger(file, { now: () => clock.now });
  ledger.takeLeftOpen();
  const { accounting } = accountingWith(ledger, clock);
  const sessions = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, user: `u${i}`, ipv4: `10.10.0.${i + 10}`, peer: '198.51.100.9', since: clock.now, bytesIn: 0, bytesOut: 0 }));
  for (const s of sessions) await accounting.start(s);
  for (let round = 0; round < 100; round++) for (const s of sessions) await accounting.interim({ ...s, bytesIn: round });
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  t.ok(lines <= 2 * sessions.length + 65, `500 Interim-Updates for 5 sessions leave ${lines} lines`);
  t.equal(replayOpenSessions(readFileSync(file, 'utf8')).open.size, 5, 'all five still open');
  for (const s of sessions) await accounting.stop(s, 'SSTP stopped');
  t.equal(readFileSync(file, 'utf8'), '', 'every Stop sent: the file is empty');
});

t.test('torn and foreign lines are skipped and counted; replay never throws', async (t) => {
  const file = join(dir, 'radius-open-pptp.jsonl');
  writeFileSync(file, '{"id":"a1","at":1,"a":[[40,"AAAAAg=="],[49,"AAAACw=="]]}\n{"del":"nobody"}\nnot json\n{"id":"a2","at":2,"a":[[300,"AA=="]]}\n');
  appendFileSync(file, '{"id":"a3","at":3,"a":[[40,"AAA');
  const { open, bad } = replayOpenSessions(readFileSync(file, 'utf8'));
  t.same([...open.keys()], ['a1'], 'only the whole, valid entry');
  t.equal(bad, 3, 'not JSON, a bad attribute type, the torn last line');
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.json()), { maxLength: 20 }), (lines) => {
    replayOpenSessions(lines.join('\n'));
  }), { numRuns: 300 });
});

t.test('the listener that opens RADIUS sends the left-open Stops before the gateway\'s Accounting-On', async (t) => {
  const state = mkdtempSync(join(dir, 'state-'));
  const seen: RadiusPacket[] = [];
  const acct = createSocket('udp4');
  acct.on('message', (bytes, from) => {
    const d = decodeRadiusPacket(bytes);
    if (!d.ok) return;
    seen.push(d.value);
    acct.send(signResponse(Code.AccountingResponse, d.value.identifier, [], d.value.authenticator, new Secret<Uint8Array>(Buffer.from('open-sessions-secret')), false), from.port, '127.0.0.1');
  });
  const port = await new Promise<number>((resolve) => acct.bind(0, '127.0.0.1', () => resolve(acct.address().port)));
  // Authentication on its own port: a client tells the answers apart by the port they come from.
  const auth = createSocket('udp4');
  const authPort = await new Promise<number>((resolve) => auth.bind(0, '127.0.0.1', () => resolve(auth.address().port)));
  t.teardown(() => { acct.close(); auth.close(); });
  // What a crashed run left: carol's session, its Stop as of her last record.
  const crashed = new OpenSessionLedger(join(state, 'radius-open-sstp.jsonl'));
  crashed.takeLeftOpen();
  const { accounting } = accountingWith(crashed, { now: Date.now() });
  await accounting.start({ id: 9, user: 'carol', ipv4: '10.10.0.9', peer: '198.51.100.9', since: Date.now() - 60_000, bytesIn: 77, bytesOut: 88 });
  crashed.close();
  const config = defaultConfig();
  config.listeners.sstp.auth = 'radius';
  config.radius = { servers: [{ name: 'lab', address: '127.0.0.1', authPort, acctPort: port, secret: 'open-sessions-secret' }] };
  const radius = await openListenerRadius(config, 'sstp', () => undefined, createLogger({ sink: () => {} }), state);
  t.teardown(() => radius?.close());
  for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  t.same(seen.map((p) => integerOf(p.attributes, Attr.AcctStatusType)), [2, 7], 'her Stop, then Accounting-On');
  t.equal(integerOf(seen[0]!.attributes, Attr.AcctTerminateCause), 11, 'NAS-Reboot');
  t.equal(textOf(seen[0]!.attributes, Attr.UserName), 'carol');
  t.equal(readFileSync(join(state, 'radius-open-sstp.jsonl'), 'utf8'), '', 'taken: a second start would send nothing');
});
