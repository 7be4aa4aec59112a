import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ErrorCode, PosternError } from '../util/errors.ts';
import type { BoardProfile } from './types.ts';
import { formatBoardErrors, validateBoard } from './validate.ts';

/**
 * The profile the image was built for. esbuild replaces POSTERN_BOARD with the checked profile of
 * `make firmware BOARD=…` (scripts/firmware/); a plain bundle or a run from source has none.
 */
declare const POSTERN_BOARD: BoardProfile | undefined;

export function builtInBoard(): BoardProfile | undefined {
  return typeof POSTERN_BOARD === 'undefined' ? undefined : POSTERN_BOARD;
}

/** Reads and checks board/<name>.json; the name inside must be the file's. */
export function loadBoardFile(path: string): BoardProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PosternError(ErrorCode.configInvalid, `board profile ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = validateBoard(doc);
  if (!result.ok) throw new PosternError(ErrorCode.configInvalid, `board profile ${path} is invalid:\n${formatBoardErrors(result.errors)}`);
  const expected = basename(path, '.json');
  if (result.board.name !== expected) {
    throw new PosternError(ErrorCode.configInvalid, `board profile ${path}: name '${result.board.name}' must match the file name '${expected}'`);
  }
  return result.board;
}
