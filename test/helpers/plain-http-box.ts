// A fresh box that talks plain HTTP: tests that drive the API or the web UI over http:// start
// `postern run` on a state directory seeded here, so the opt-out is in the configuration they run,
// visible as system.management.https: false (a fresh box serves HTTPS, issue 17).
import { join } from 'node:path';
import { selectBoard } from '../../firmware/board/select.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ConfigStore } from '../../firmware/config/store.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { presetInterfaces } from '../../firmware/network/interface-roles.ts';

/**
 * Writes what `postern run` writes on a fresh box (the defaults with the board's ports, revision 1 by
 * 'postern'), with HTTPS off for the management. `board`: the run's --board, if it has one.
 */
export async function plainHttpBox(stateDir: string, board?: string): Promise<string> {
  const config = presetInterfaces(defaultConfig(), selectBoard(board).board);
  config.system.management.https = false;
  await ConfigStore.open(join(stateDir, 'config'), { logger: createLogger({ sink: () => {} }), initial: () => config });
  return stateDir;
}
