import { isDeepStrictEqual } from 'node:util';
import type { PosternConfig, SiteConfig } from '../config/types.ts';

/** What a change to a protocol's sites means for the tunnels up now, site by site. */
export interface SiteChanges {
  /** Removed, disabled or edited: their SAs were keyed under the old settings and end. */
  readonly ended: string[];
  /** Added, enabled or edited sites that dial out: dialed now with their new settings. */
  readonly dial: string[];
}

/**
 * Compares the enabled sites `mine` picks (one protocol's) before and after a change. An edited site
 * is ended and dialed again; sites not touched keep their tunnels.
 */
export function siteChanges(previous: PosternConfig, next: PosternConfig, mine: (s: SiteConfig) => boolean): SiteChanges {
  const enabled = (c: PosternConfig) => new Map(c.sites.filter((s) => s.enabled && mine(s)).map((s) => [s.name, s]));
  const before = enabled(previous);
  const after = enabled(next);
  const ended = [...before].filter(([name, site]) => !isDeepStrictEqual(after.get(name), site)).map(([name]) => name);
  const dial = [...after].filter(([name, site]) => site.initiate && !isDeepStrictEqual(before.get(name), site)).map(([name]) => name);
  return { ended, dial };
}
