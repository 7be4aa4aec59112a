import { buildInfo } from '../build-info.ts';
import { isSingleExecutable } from '../sea/sea-runtime.ts';
import { isPosternError } from '../util/errors.ts';
import { parseArgs, type ParsedArgs } from './args.ts';
import { configHistory, configShow, configValidate } from './config-commands.ts';
import { fleetConsole } from '../fleet/console/fleet-console.ts';
import { HELP } from './help.ts';
import { runCommand } from './run-command.ts';
import { versionLine, versionReport } from './version.ts';

const SWITCHES = new Set(['help', 'json', 'version']);

/** Returns the exit code, or undefined for `run`, which exits when it is stopped. */
export async function runCli(argv: readonly string[]): Promise<number | undefined> {
  // The fleet console parses its own options (docs/fleet.md).
  if (argv[0] === 'fleet') return fleet(argv.slice(1));
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, SWITCHES);
  } catch (error) {
    return usageError(error);
  }
  const [command, sub] = args.words;
  if (args.flags.has('version') && command === undefined) return printVersion(args);
  if (args.flags.has('help') || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    switch (command) {
      case 'version':
        return printVersion(args);
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

async function fleet(argv: readonly string[]): Promise<number> {
  try {
    return await fleetConsole(argv);
  } catch (error) {
    process.stderr.write(`postern fleet: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function printVersion(args: ParsedArgs): number {
  const report = versionReport(buildInfo, { node: process.version, arch: process.arch, singleExecutable: isSingleExecutable() });
  process.stdout.write(args.flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : versionLine(report));
  return 0;
}

function usageError(error: unknown): number {
  process.stderr.write(`postern: ${error instanceof Error ? error.message : String(error)}\nTry 'postern --help'.\n`);
  return 2;
}
