/** Types for scripts/build-webui.mjs, for the tests that build the web UI themselves. */
export interface WebuiFileSizes {
  readonly identity: number;
  readonly gzip: number;
  readonly br: number;
}

export interface WebuiBuild {
  /** Gzipped sizes of the script, the styles and the page. */
  readonly js: number;
  readonly css: number;
  readonly html: number;
  /** The three files together, as each coding transfers them. */
  readonly br: number;
  readonly gzip: number;
  readonly identity: number;
  readonly files: Readonly<Record<string, WebuiFileSizes>>;
}

export function buildWebui(outdir?: string): Promise<WebuiBuild>;
