// Issue 26: the fleet's files under <state>/fleet survive restarts as written, and an unreadable one
// is refused with its path (a ledger never silently starts its sequence over: replays would reopen).
import { statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { accepted, readLedger, writeLedger } from '../../../firmware/fleet/desired-ledger.ts';
import { acceptedVariables, readVariablesLedger, writeVariablesLedger } from '../../../firmware/fleet/variables-ledger.ts';
import { tempDir } from '../../helpers/tmp.ts';

t.test('desired ledger: none, written and read back, then refused when damaged', async (t) => {
  const state = tempDir(t);
  t.same(readLedger(state), { ok: true, entry: undefined }, 'no file: a box that accepted nothing');
  const first = accepted(undefined, { sequence: 3, payloadSha256: 'a'.repeat(64), revision: 'r3', at: 1000 });
  writeLedger(state, first);
  t.same(readLedger(state), { ok: true, entry: first });
  t.equal(statSync(join(state, 'fleet')).mode & 0o777, 0o700);
  t.equal(statSync(join(state, 'fleet', 'desired.json')).mode & 0o777, 0o600);
  const second = accepted(first, { sequence: 4, payloadSha256: 'b'.repeat(64), revision: 'r4', at: 2000 });
  t.same(second.recent, ['a'.repeat(64), 'b'.repeat(64)]);
  writeFileSync(join(state, 'fleet', 'desired.json'), '{"sequence": 4');
  t.match(readLedger(state), { ok: false, why: /desired\.json: .*JSON/ }, 'torn JSON refused with the file named');
  writeFileSync(join(state, 'fleet', 'desired.json'), '{"sequence": 4, "revision": "r4"}');
  t.match(readLedger(state), { ok: false, why: /desired\.json: fields missing/ });
});

t.test('variables ledger: 0600, values checked when read back', async (t) => {
  const state = tempDir(t);
  t.same(readVariablesLedger(state), { ok: true, entry: undefined });
  const entry = acceptedVariables(undefined, { sequence: 1, payloadSha256: 'c'.repeat(64), variables: { lan: '10.17.0.1/24', port: 4500 }, at: 5 });
  writeVariablesLedger(state, entry);
  t.same(readVariablesLedger(state), { ok: true, entry });
  t.equal(statSync(join(state, 'fleet', 'variables.json')).mode & 0o777, 0o600);
  mkdirSync(join(state, 'fleet'), { recursive: true });
  writeFileSync(join(state, 'fleet', 'variables.json'), JSON.stringify({ ...entry, variables: { 'bad name': 1 } }));
  t.match(readVariablesLedger(state), { ok: false, why: /variables\.json: fields missing/ }, 'a value the decoder refuses makes the file unusable');
});
