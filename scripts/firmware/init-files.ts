import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BoardProfile } from '../../firmware/board/types.ts';

/** Where an A/B box keeps the launcher and its slots (firmware/upgrade/launcher.sh finds slots/ beside it). */
export const AB_LAUNCHER = '/usr/lib/postern/postern-launcher';

/**
 * The init integration shipped with the firmware (issue 18): a systemd unit, an OpenWrt procd script
 * and a busybox inittab line, filled in for one board: what init starts (the executable on an
 * image-path board, the A/B launcher on a slotted one), the state directory, the watchdog named.
 */
export function initFiles(board: BoardProfile, templates = join(import.meta.dirname, 'init')): Record<string, string> {
  const exec = board.storage.layout === 'ab-slots' ? AB_LAUNCHER : (board.storage.imagePath ?? '/usr/local/bin/postern');
  const writable = [board.storage.stateDir, ...(board.storage.layout === 'ab-slots' ? [join(dirname(AB_LAUNCHER), 'slots')] : [])];
  const fill = (text: string) => text
    .replaceAll('@BOARD@', board.name)
    .replaceAll('@EXEC@', exec)
    .replaceAll('@STATE@', board.storage.stateDir)
    .replaceAll('@WRITABLE@', writable.join(' '))
    .replaceAll('@WATCHDOG@', board.watchdog ?? 'none on this board');
  return Object.fromEntries(['postern.service', 'postern.init', 'inittab'].map((name) => [name, fill(readFileSync(join(templates, name), 'utf8'))]));
}
