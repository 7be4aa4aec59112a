import type { BuildInfo } from '../build-info.ts';

/** What `postern version` / `postern --version` reports: the build identity and what runs it. */
export interface VersionReport {
  readonly version: string;
  readonly commit: string;
  readonly builtAt: string;
  readonly node: string;
  /** The machine's, as Node sees it (arm64, x64). */
  readonly arch: string;
  /** The board profile the image was built for; "none" for a plain bundle or a run from source. */
  readonly board: string;
  /** Running as a single executable (the firmware image) rather than a bundle under node. */
  readonly singleExecutable: boolean;
}

export function versionReport(info: BuildInfo, runtime: { node: string; arch: string; singleExecutable: boolean }): VersionReport {
  return { version: info.version, commit: info.commit, builtAt: info.builtAt, ...runtime, board: info.board ?? 'none' };
}

/** One line, its start unchanged since the first release: `postern 0.1.0 (…)`. */
export function versionLine(r: VersionReport): string {
  return `postern ${r.version} (commit ${r.commit}, built ${r.builtAt}, node ${r.node}, ${r.arch}, board ${r.board}${r.singleExecutable ? ', single executable' : ''})\n`;
}
