/**
 * The automaton against RFC 1661 §4.1, every (state, event) pair: each state is reached through real
 * events, the event is delivered as a real packet or call, and what comes out (packets by code, layer
 * signals, the restart counter, the timer, the next state) must be what the RFC's cell says.
 */
import t from 'tap';
import { ControlCode, encodeConfigure, encodeControlPacket, encodeEcho, type PppOption } from '../../../firmware/ppp/control-packet.ts';
import { Fsm, FsmState, STATE_NAMES, TRANSITIONS, type FsmEvent, type FsmOptions } from '../../../firmware/ppp/fsm.ts';
import type { FsmProtocol, PppAction, RequestVerdict } from '../../../firmware/ppp/fsm-protocol.ts';

// RFC 1661 §4.1, as printed.
const RFC_TABLE = `
      |    0         1         2         3         4         5
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
 RXR  |    -         -         2         3         4         5

      |    6         7         8           9
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
 RXR  |    6         7         8         ser/9
`;

/** Event → ten cells, footnote letters (r, p, x) dropped. */
function rfcCells(): Map<FsmEvent, string[]> {
  const out = new Map<FsmEvent, string[]>();
  for (const line of RFC_TABLE.split('\n')) {
    const m = /^\s*(\S+)\s*\|(.*)$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.trim().split(/\s+/).map((c) => c.replace(/[rpx]$/, ''));
    out.set(m[1] as FsmEvent, [...(out.get(m[1] as FsmEvent) ?? []), ...cells]);
  }
  return out;
}

const OPTION: PppOption = { type: 1, data: Uint8Array.of(0x05, 0xdc) };

/** A protocol with one option whose verdict the test sets. */
class Probe implements FsmProtocol {
  readonly name = 'PROBE';
  readonly protocol = 0xc021;
  readonly kind = 'lcp';
  verdict: 'ack' | 'nak' = 'ack';
  buildRequestOptions = () => [OPTION];
  checkRequest = (): RequestVerdict => (this.verdict === 'ack' ? { kind: 'ack' } : { kind: 'nak', options: [OPTION] });
  onAck() {}
  onNak() {}
  onReject() {}
  magicNumber = () => 0x01020304;
}

/** One FSM under test, remembering our last Configure-Request so replies can match it. */
class Bench {
  readonly probe = new Probe();
  readonly fsm: Fsm;
  now = 0;
  lastRequest: { identifier: number; data: Uint8Array } | undefined;

  constructor(options: Partial<FsmOptions>) {
    this.fsm = new Fsm(this.probe, { acceptRepeatedReplies: true, ...options });
  }

  apply(event: FsmEvent): PppAction[] {
    this.now += 1;
    const out = this.#deliver(event);
    for (const a of out) if (a.type === 'send' && a.packet[0] === ControlCode.ConfigureRequest) this.lastRequest = { identifier: a.packet[1]!, data: a.packet.slice(4) };
    return out;
  }

  #deliver(event: FsmEvent): PppAction[] {
    const { fsm, now } = this;
    const rx = (code: number, identifier: number, data: Uint8Array) => fsm.receive(encodeControlPacket({ code, identifier, data }), now);
    const req = this.lastRequest ?? { identifier: 0, data: new Uint8Array(0) };
    switch (event) {
      case 'Up': return fsm.up(now);
      case 'Down': return fsm.down(now);
      case 'Open': return fsm.open(now);
      case 'Close': return fsm.close(now, 'test');
      case 'TO+':
      case 'TO-': return fsm.tick((this.now = fsm.nextTimeout() ?? now + 1e9));
      case 'RCR+':
      case 'RCR-':
        this.probe.verdict = event === 'RCR+' ? 'ack' : 'nak';
        return fsm.receive(encodeConfigure(ControlCode.ConfigureRequest, 0x40, [OPTION]), now);
      case 'RCA': return rx(ControlCode.ConfigureAck, req.identifier, req.data);
      case 'RCN': return rx(ControlCode.ConfigureNak, req.identifier, new Uint8Array(0));
      case 'RTR': return rx(ControlCode.TerminateRequest, 0x77, new Uint8Array(0));
      case 'RTA': return rx(ControlCode.TerminateAck, 0x78, new Uint8Array(0));
      case 'RUC': return rx(0x63, 0x79, Uint8Array.of(1, 2, 3));
      case 'RXJ+': return rx(ControlCode.CodeReject, 0x7a, Uint8Array.of(ControlCode.EchoRequest, 1, 0, 8, 0, 0, 0, 0));
      case 'RXJ-': return rx(ControlCode.CodeReject, 0x7b, Uint8Array.of(ControlCode.ConfigureRequest, 1, 0, 4));
      case 'RXR': return fsm.receive(encodeEcho(ControlCode.EchoRequest, 0x7c, { magicNumber: 0, data: Uint8Array.of(0xee) }), now);
    }
  }
}

/** How each state is reached from Initial through real events. */
const PATHS: Record<number, FsmEvent[]> = {
  0: [],
  1: ['Open'],
  2: ['Up'],
  3: ['Up', 'Open', 'RXJ-'],
  4: ['Up', 'Open', 'Close'],
  5: ['Up', 'Open', 'RCR+', 'RCA', 'RXJ-'],
  6: ['Up', 'Open'],
  7: ['Up', 'Open', 'RCA'],
  8: ['Up', 'Open', 'RCR+'],
  9: ['Up', 'Open', 'RCR+', 'RCA'],
};

const OBSERVABLE: Record<number, string> = { 1: 'scr', 2: 'sca', 3: 'scn', 4: 'scn', 5: 'str', 6: 'sta', 7: 'scj', 10: 'ser' };
const LAYERS: Record<string, string> = { 'layer-up': 'tlu', 'layer-down': 'tld', 'layer-started': 'tls', 'layer-finished': 'tlf' };

function observed(actions: PppAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'send' ? [OBSERVABLE[a.packet[0]!] ?? `code ${a.packet[0]}`] : a.type in LAYERS ? [LAYERS[a.type]!] : [])).sort();
}

/** The restart counter after a cell's actions, from the one before (§4.4 irc, zrc, scr, str). */
function counterAfter(before: number, actions: string[], o: FsmOptions): number {
  let c = before;
  for (const a of actions) {
    if (a === 'irc') c = actions.includes('str') ? o.maxTerminate : o.maxConfigure;
    else if (a === 'zrc') c = 0;
    else if (a === 'scr' || a === 'str') c--;
  }
  return c;
}

t.test('the transition table is the RFC table, cell for cell', async (t) => {
  const rfc = rfcCells();
  t.equal(rfc.size, 16, 'sixteen events');
  for (const [event, row] of Object.entries(TRANSITIONS)) t.same(row, rfc.get(event as FsmEvent), event);
});

const TIMED = new Set<number>([FsmState.Closing, FsmState.Stopping, FsmState.ReqSent, FsmState.AckRcvd, FsmState.AckSent]);

for (let state = 0; state <= 9; state++) {
  t.test(`state ${state} ${STATE_NAMES[state]}: all sixteen events`, async (t) => {
    for (const [event, row] of rfcCells()) {
      // TO- needs a spent counter: with Max-Configure and Max-Terminate 0 every state reaches it at once.
      const options = event === 'TO-' ? { maxConfigure: 0, maxTerminate: 0 } : {};
      const bench = new Bench(options);
      for (const step of PATHS[state]!) bench.apply(step);
      t.equal(bench.fsm.state, state, `${event}: reached ${STATE_NAMES[state]}`);
      const before = bench.fsm.restartCount;
      const out = bench.apply(event);
      const cell = row[state]!;
      if (cell === '-') {
        t.same(observed(out), [], `${event} is illegal: nothing done`);
        t.equal(bench.fsm.state, state, `${event} is illegal: state kept`);
        continue;
      }
      const [acts = '', next] = cell.includes('/') ? cell.split('/') : ['', cell];
      const actions = acts ? acts.split(',') : [];
      const full = { restartMs: 3000, maxTerminate: 2, maxConfigure: 10, maxFailure: 5, acceptRepeatedReplies: true, ...options };
      t.same(observed(out), actions.filter((a) => a !== 'irc' && a !== 'zrc').sort(), `${event}: actions ${cell}`);
      t.equal(bench.fsm.state, Number(next), `${event}: next state ${STATE_NAMES[Number(next)]}`);
      if (actions.some((a) => ['irc', 'zrc', 'scr', 'str'].includes(a))) t.equal(bench.fsm.restartCount, counterAfter(before, actions, full), `${event}: restart counter`);
      t.equal(bench.fsm.nextTimeout() !== undefined, TIMED.has(bench.fsm.state), `${event}: restart timer runs only in states 4 to 8`);
    }
  });
}

t.test('replies: wrong identifier, repeated replies and altered Acks are dropped (§5.2)', async (t) => {
  const bench = new Bench({ acceptRepeatedReplies: false });
  bench.apply('Up');
  bench.apply('Open');
  const req = bench.lastRequest!;
  bench.fsm.receive(encodeControlPacket({ code: ControlCode.ConfigureAck, identifier: (req.identifier + 1) & 0xff, data: req.data }), 1);
  t.equal(bench.fsm.drops['stale-reply'], 1);
  bench.fsm.receive(encodeControlPacket({ code: ControlCode.ConfigureAck, identifier: req.identifier, data: Uint8Array.of(1, 4, 0, 0) }), 1);
  t.equal(bench.fsm.drops['bad-ack'], 1, 'options must match exactly');
  t.equal(bench.fsm.state, FsmState.ReqSent);
  bench.apply('RCA');
  t.equal(bench.fsm.state, FsmState.AckRcvd);
  bench.apply('RCA');
  t.equal(bench.fsm.drops['repeated-reply'], 1, 'a duplicate Ack does not restart negotiation');
  t.equal(bench.fsm.state, FsmState.AckRcvd);
  bench.fsm.receive(encodeConfigure(ControlCode.ConfigureReject, req.identifier, [{ type: 9, data: new Uint8Array(0) }]), 1);
  t.equal(bench.fsm.state, FsmState.AckRcvd, 'nothing changed');
});

t.test('a Configure-Reject must name options of our request, in order (§5.4)', async (t) => {
  const bench = new Bench({});
  bench.apply('Up');
  bench.apply('Open');
  const req = bench.lastRequest!;
  bench.fsm.receive(encodeConfigure(ControlCode.ConfigureReject, req.identifier, [{ type: 9, data: new Uint8Array(0) }]), 1);
  t.equal(bench.fsm.drops['bad-reject'], 1);
  const out = bench.fsm.receive(encodeConfigure(ControlCode.ConfigureReject, req.identifier, [OPTION]), 1);
  t.same(observed(out), ['scr'], 'a proper subset: RCN, a new request');
});

t.test('the restart timer: Max-Configure requests, then TO- (§4.6)', async (t) => {
  const bench = new Bench({});
  const sends = [...bench.apply('Up'), ...bench.apply('Open')];
  while (bench.fsm.nextTimeout() !== undefined) sends.push(...bench.apply('TO+'));
  t.equal(sends.filter((a) => a.type === 'send').length, 10, 'ten Configure-Requests');
  t.equal(bench.fsm.state, FsmState.Stopped, 'then Stopped (tlf/3)');
  t.equal(bench.now, 2 + 10 * 3000, 'three seconds apart, the last one timing out');
});
