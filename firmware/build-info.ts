/**
 * What this binary is. esbuild replaces POSTERN_BUILD with the real values (scripts/build.mjs);
 * running from source (tsx) reports a development build.
 */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly builtAt: string;
  /** The board profile's name, in a firmware image (make firmware BOARD=…). */
  readonly board?: string;
}

declare const POSTERN_BUILD: BuildInfo | undefined;

export const buildInfo: BuildInfo =
  typeof POSTERN_BUILD === 'undefined' ? { version: '0.0.0-dev', commit: 'source', builtAt: 'unbuilt' } : POSTERN_BUILD;
