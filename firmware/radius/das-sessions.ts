/**
 * A live session as dynamic authorization (RFC 5176, issue 21) acts on it, whatever its protocol:
 * what identifies it (das-engine.ts matches on these) and the two things a DAS may do to it.
 */
import type { DasSession, SessionChange } from './das-engine.ts';

export interface DasSessionHandle extends DasSession {
  /** Ends it; the reason reaches the Stop record (terminateCauseOf: "disconnected by" is Admin-Reset). */
  end(reason: string): void;
  /** A CoA's new limits (only those in `changeable`): a Session-Timeout counts from now. */
  change(change: SessionChange): void;
}
