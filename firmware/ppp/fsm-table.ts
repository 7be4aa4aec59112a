/**
 * RFC 1661 §4.1, the state transition table of the option-negotiation automaton, as data: fsm.ts
 * performs the cells, the tests check them against the RFC's own text.
 */

/** §4.2, numbered as in the §4.1 table. */
export const FsmState = { Initial: 0, Starting: 1, Closed: 2, Stopped: 3, Closing: 4, Stopping: 5, ReqSent: 6, AckRcvd: 7, AckSent: 8, Opened: 9 } as const;
export type FsmState = (typeof FsmState)[keyof typeof FsmState];
export const STATE_NAMES = ['Initial', 'Starting', 'Closed', 'Stopped', 'Closing', 'Stopping', 'Req-Sent', 'Ack-Rcvd', 'Ack-Sent', 'Opened'] as const;

/** §4.3 events. */
export type FsmEvent = 'Up' | 'Down' | 'Open' | 'Close' | 'TO+' | 'TO-' | 'RCR+' | 'RCR-' | 'RCA' | 'RCN' | 'RTR' | 'RTA' | 'RUC' | 'RXJ+' | 'RXJ-' | 'RXR';
/** §4.4 actions. */
export type FsmActionName = 'tlu' | 'tld' | 'tls' | 'tlf' | 'irc' | 'zrc' | 'scr' | 'sca' | 'scn' | 'str' | 'sta' | 'scj' | 'ser';

/**
 * The §4.1 table cell for cell, columns are states 0 to 9: "actions/next state", '-' an illegal event
 * (logged and counted, nothing changes). The footnotes are not options here: `r` (restart) is not
 * implemented, `p` (passive) is what Stopped already does, `x` (crossed connection) needs nothing.
 */
export const TRANSITIONS: Readonly<Record<FsmEvent, readonly string[]>> = {
  Up: ['2', 'irc,scr/6', '-', '-', '-', '-', '-', '-', '-', '-'],
  Down: ['-', '-', '0', 'tls/1', '0', '1', '1', '1', '1', 'tld/1'],
  Open: ['tls/1', '1', 'irc,scr/6', '3', '5', '5', '6', '7', '8', '9'],
  Close: ['0', 'tlf/0', '2', '2', '4', '4', 'irc,str/4', 'irc,str/4', 'irc,str/4', 'tld,irc,str/4'],
  'TO+': ['-', '-', '-', '-', 'str/4', 'str/5', 'scr/6', 'scr/6', 'scr/8', '-'],
  'TO-': ['-', '-', '-', '-', 'tlf/2', 'tlf/3', 'tlf/3', 'tlf/3', 'tlf/3', '-'],
  'RCR+': ['-', '-', 'sta/2', 'irc,scr,sca/8', '4', '5', 'sca/8', 'sca,tlu/9', 'sca/8', 'tld,scr,sca/8'],
  'RCR-': ['-', '-', 'sta/2', 'irc,scr,scn/6', '4', '5', 'scn/6', 'scn/7', 'scn/6', 'tld,scr,scn/6'],
  RCA: ['-', '-', 'sta/2', 'sta/3', '4', '5', 'irc/7', 'scr/6', 'irc,tlu/9', 'tld,scr/6'],
  RCN: ['-', '-', 'sta/2', 'sta/3', '4', '5', 'irc,scr/6', 'scr/6', 'irc,scr/8', 'tld,scr/6'],
  RTR: ['-', '-', 'sta/2', 'sta/3', 'sta/4', 'sta/5', 'sta/6', 'sta/6', 'sta/6', 'tld,zrc,sta/5'],
  RTA: ['-', '-', '2', '3', 'tlf/2', 'tlf/3', '6', '6', '8', 'tld,scr/6'],
  RUC: ['-', '-', 'scj/2', 'scj/3', 'scj/4', 'scj/5', 'scj/6', 'scj/7', 'scj/8', 'scj/9'],
  'RXJ+': ['-', '-', '2', '3', '4', '5', '6', '6', '8', '9'],
  'RXJ-': ['-', '-', 'tlf/2', 'tlf/3', 'tlf/2', 'tlf/3', 'tlf/3', 'tlf/3', 'tlf/3', 'tld,irc,str/5'],
  RXR: ['-', '-', '2', '3', '4', '5', '6', '7', '8', 'ser/9'],
};

export interface Cell {
  readonly actions: readonly FsmActionName[];
  readonly next: FsmState;
}

/** Parses one cell; undefined for '-'. */
export function parseCell(cell: string): Cell | undefined {
  if (cell === '-') return undefined;
  const slash = cell.lastIndexOf('/');
  const actions = slash < 0 ? [] : (cell.slice(0, slash).split(',') as FsmActionName[]);
  return { actions, next: Number(cell.slice(slash + 1)) as FsmState };
}

export const CELLS = Object.fromEntries(Object.entries(TRANSITIONS).map(([event, row]) => [event, row.map(parseCell)])) as unknown as Readonly<Record<FsmEvent, readonly (Cell | undefined)[]>>;
/** Every move the table can make, for `setState` to refuse any other. */
export const LEGAL: ReadonlySet<string> = new Set(Object.values(CELLS).flatMap((row) => row.flatMap((cell, from) => (cell ? [`${from}>${cell.next}`] : []))));
