/**
 * What this binary is. esbuild replaces POSTERN_BUILD with the real values (scripts/build.mjs);
 * running from source (tsx) reports a development build.
 */
declare const POSTERN_BUILD: { version: string; commit: string; builtAt: string } | undefined;

export const buildInfo: { version: string; commit: string; builtAt: string } =
  typeof POSTERN_BUILD === 'undefined' ? { version: '0.0.0-dev', commit: 'source', builtAt: 'unbuilt' } : POSTERN_BUILD;
