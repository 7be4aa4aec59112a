import { buildInfo } from '../build-info.ts';
import { isPosternError } from '../util/errors.ts';
import { parseArgs, type ParsedArgs } from './args.ts';
import { configHistory, configShow, configValidate } from './config-commands.ts';
import { HELP } from './help.ts';
import { runCommand } from './run-command.ts';

const SWITCHES = new Set(['help', 'json']);

/** Returns the exit code, or undefined for `run`, which exits when it is stopped. */
export async function runCli(argv: readonly string[]): Promise<number | undefined> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, SWITCHES);
  } catch (error) {
    return usageError(error);
  }
  const [command, sub] = args.words;
  if (args.flags.has('help') || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    switch (command) {
      case 'version':
        process.stdout.write(`postern ${buildInfo.version} (${buildInfo.commit}, built ${buildInfo.builtAt}, node ${process.version})\n`);
        return 0;
      case 'run':
        return await runCommand(args);
      case 'config':
        if (sub === 'validate') return await configValidate(args);
        if (sub === 'show') return await configShow(args);
        if (sub === 'history') return await configHistory(args);
        return usageError(new Error(`unknown config command '${sub ?? ''}' (validate, show, history)`));
      default:
        return usageError(new Error(`unknown command '${command}'`));
    }
  } catch (error) {
    if (isPosternError(error)) {
      process.stderr.write(`postern: ${error.message} [${error.code}]\n`);
      return error.code === 'POSTERN_ERR_USAGE' ? 2 : 1;
    }
    throw error;
  }
}

function usageError(error: unknown): number {
  process.stderr.write(`postern: ${error instanceof Error ? error.message : String(error)}\nTry 'postern --help'.\n`);
  return 2;
}
