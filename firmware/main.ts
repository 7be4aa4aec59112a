#!/usr/bin/env node
import './cli/young-generation.ts'; // first: `postern run`'s young generation is set before the rest loads
import { runCli } from './cli/cli.ts';

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`postern: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
