import { checkField } from '../config/validate.ts';
import type { ConfigIssue } from '../config/types.ts';
import { ownValue } from '../util/json-input.ts';
import { boardSchema } from './schema.ts';
import type { BoardProfile } from './types.ts';

export type BoardValidation = { ok: true; board: BoardProfile } | { ok: false; errors: ConfigIssue[] };

/**
 * Checks a board profile against the schema table, then the rules that span fields: one WAN, a LAN,
 * each LED state shown once, the storage layout's own fields. Every problem is reported with its
 * path; never throws, whatever it is given.
 */
export function validateBoard(doc: unknown): BoardValidation {
  const errors: ConfigIssue[] = [];
  checkField(boardSchema, doc, '', errors);
  if (errors.length > 0) return { ok: false, errors };
  const board = doc as BoardProfile;
  errors.push(...interfaceRules(board), ...ledRules(board), ...storageRules(board));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, board };
}

function interfaceRules(board: BoardProfile): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const wans = board.interfaces.filter((i) => i.role === 'wan');
  if (wans.length !== 1) {
    errors.push({ path: 'interfaces', code: 'wan', message: `must have exactly one interface with role wan, not ${wans.length}` });
  }
  if (!board.interfaces.some((i) => i.role === 'lan')) errors.push({ path: 'interfaces', code: 'lan', message: 'must have at least one interface with role lan' });
  return errors;
}

function ledRules(board: BoardProfile): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  board.leds.forEach((led, i) => {
    const first = seen.get(led.shows);
    if (first !== undefined) errors.push({ path: `leds[${i}].shows`, code: 'duplicate', message: `'${led.shows}' is already shown by leds[${first}]` });
    else seen.set(led.shows, i);
    if (!led.path.startsWith('/sys/class/leds/')) errors.push({ path: `leds[${i}].path`, code: 'format', message: 'must be a directory under /sys/class/leds/' });
  });
  return errors;
}

function storageRules(board: BoardProfile): ConfigIssue[] {
  const { storage } = board;
  const errors: ConfigIssue[] = [];
  if (storage.layout === 'ab-slots') {
    if (!ownValue(storage, 'slots')) errors.push({ path: 'storage.slots', code: 'required', message: 'is required with layout ab-slots' });
    else if (storage.slots?.a === storage.slots?.b) errors.push({ path: 'storage.slots.b', code: 'duplicate', message: 'must differ from slot A' });
    if (ownValue(storage, 'imagePath') !== undefined) errors.push({ path: 'storage.imagePath', code: 'layout', message: 'belongs to layout image-path, not ab-slots' });
  } else {
    if (ownValue(storage, 'imagePath') === undefined) errors.push({ path: 'storage.imagePath', code: 'required', message: 'is required with layout image-path' });
    if (ownValue(storage, 'slots') !== undefined) errors.push({ path: 'storage.slots', code: 'layout', message: 'belongs to layout ab-slots, not image-path' });
  }
  return errors;
}

/** "path: why" lines, for the CLI and the image build. */
export function formatBoardErrors(errors: readonly ConfigIssue[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('\n');
}
