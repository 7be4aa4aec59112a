import { ErrorCode, PosternError } from '../util/errors.ts';

/** `postern <words…> [--flag value | --flag=value | --switch]`: enough for a small CLI, no dependency. */
export interface ParsedArgs {
  readonly words: string[];
  readonly flags: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], switches: ReadonlySet<string>): ParsedArgs {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (eq !== -1) flags.set(name, arg.slice(eq + 1));
    else if (switches.has(name)) flags.set(name, true);
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) {
        throw new PosternError(ErrorCode.usage, `--${name} needs a value`);
      }
      flags.set(name, value);
      i++;
    }
  }
  return { words, flags };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new PosternError(ErrorCode.usage, `--${name} needs a value`);
  return v;
}
