import { arch } from 'node:process';
import { ErrorCode, PosternError } from '../util/errors.ts';
import genericArm64 from '../../board/generic-arm64.json' with { type: 'json' };
import genericArmv7 from '../../board/generic-armv7.json' with { type: 'json' };
import genericX64 from '../../board/generic-x64.json' with { type: 'json' };
import { builtInBoard, loadBoardFile } from './load.ts';
import type { BoardProfile } from './types.ts';
import { formatBoardErrors, validateBoard } from './validate.ts';

/** The generic profiles travel in every bundle, so a plain `node dist/postern.js` has one for its architecture. */
const GENERIC: Readonly<Record<string, unknown>> = { 'generic-arm64': genericArm64, 'generic-armv7': genericArmv7, 'generic-x64': genericX64 };

export interface SelectedBoard {
  readonly board: BoardProfile;
  /**
   * Chosen on purpose (--board, POSTERN_BOARD, or the profile a firmware image was built for) rather
   * than the generic default: only then are the watchdog, LEDs and reset button driven, so a developer's
   * `make run` never arms a watchdog that would reboot the machine it runs on.
   */
  readonly explicit: boolean;
}

/** Node's architecture as a board names it. */
export const boardArchitecture = (nodeArch: string = arch): string => (nodeArch === 'arm' ? 'armv7' : nodeArch);

/**
 * `--board NAME|FILE.json` (or POSTERN_BOARD), else the profile built into the image, else
 * generic-<arch>. A name is one of the generic profiles or the image's own; anything else is a file.
 */
export function selectBoard(requested: string | undefined, nodeArch: string = arch): SelectedBoard {
  const embedded = builtInBoard();
  if (requested !== undefined && requested !== '') {
    if (embedded && requested === embedded.name) return { board: embedded, explicit: true };
    if (GENERIC[requested]) return { board: checked(GENERIC[requested], requested), explicit: true };
    if (requested.includes('/') || requested.endsWith('.json')) return { board: loadBoardFile(requested), explicit: true };
    throw new PosternError(ErrorCode.usage, `unknown board '${requested}': give a generic profile (${Object.keys(GENERIC).join(', ')}) or a profile's file path`);
  }
  if (embedded) return { board: embedded, explicit: true };
  const name = `generic-${boardArchitecture(nodeArch)}`;
  const doc = GENERIC[name] ?? GENERIC['generic-x64'];
  return { board: checked(doc, name), explicit: false };
}

function checked(doc: unknown, name: string): BoardProfile {
  const result = validateBoard(doc);
  if (!result.ok) throw new PosternError(ErrorCode.configInvalid, `built-in board profile ${name} is invalid:\n${formatBoardErrors(result.errors)}`);
  return result.board;
}
