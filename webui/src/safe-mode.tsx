/**
 * Safe mode in the web UI (issue 17): the settings forms that can cut the technician off (WAN, LAN,
 * management, listeners) offer "revert unless I confirm within N seconds"; a banner on every page
 * counts down with a Confirm button, and says so when the gateway went back by itself.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe } from './api.ts';

export const SAFE_MODE_EVENT = 'postern-safe-mode';

interface SafeModeState {
  pending: { revision: number; previousRevision: number; deadline: string; secondsLeft: number; comment: string; seconds: number } | null;
  last: { kind: 'confirmed' | 'reverted' | 'revert-failed'; at: string; revision: number; previousRevision: number; newRevision?: number; error?: string } | null;
}

/** The option on a form, and the path to send the change to (with ?confirmWithin=N when chosen). */
export function useSafeApply(defaultSeconds = 120) {
  const [on, setOn] = useState(false);
  const [seconds, setSeconds] = useState(defaultSeconds);
  const path = (p: string) => (on ? `${p}${p.includes('?') ? '&' : '?'}confirmWithin=${seconds}` : p);
  /** After a change was sent: the banner looks at once. */
  const sent = () => {
    if (on) dispatchEvent(new Event(SAFE_MODE_EVENT));
  };
  const control = (
    <div class="safe-apply">
      <label><input type="checkbox" name="safe-mode" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} /> Safe mode: revert unless I confirm within</label>
      <label>
        <input type="number" name="safe-mode-seconds" min={5} max={3600} value={seconds} disabled={!on} onInput={(e) => setSeconds(Number(e.currentTarget.value))} aria-label="seconds to confirm" /> seconds
      </label>
    </div>
  );
  return { control, path, sent };
}

const clock = (s: number) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;

export function SafeModeBanner() {
  const [state, setState] = useState<SafeModeState>();
  const [lost, setLost] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [dismissed, setDismissed] = useState<string>();
  const [error, setError] = useState<string>();
  const load = async () => {
    try {
      setState(await api<SafeModeState>('GET', '/safe-mode'));
      setLost(false);
    } catch {
      setLost(true); // the change may have cut this page off: the gateway still reverts by itself
    }
  };
  useEffect(() => {
    void load();
    const poll = setInterval(() => void load(), 2000);
    const tick = setInterval(() => setNow(Date.now()), 500);
    const onChange = () => void load();
    addEventListener(SAFE_MODE_EVENT, onChange);
    return () => {
      clearInterval(poll);
      clearInterval(tick);
      removeEventListener(SAFE_MODE_EVENT, onChange);
    };
  }, []);
  const act = async (what: 'confirm' | 'revert') => {
    setError(undefined);
    try {
      setState(await api<SafeModeState>('POST', `/safe-mode/${what}`));
    } catch (e) {
      setError(describe(e));
    }
  };
  const pending = state?.pending;
  if (pending) {
    // From this page's clock, never more than the time given (the tick may be a little behind).
    const left = Math.min(pending.seconds, Math.max(0, Math.ceil((Date.parse(pending.deadline) - Math.max(now, Date.now())) / 1000)));
    return (
      <div class="safe-mode" role="alert" aria-label="safe mode">
        <span>Safe mode: {pending.comment || `revision ${pending.revision}`} is reverted to revision {pending.previousRevision} in <strong data-seconds-left={left}>{clock(left)}</strong> unless you confirm it.{lost ? ' The gateway does not answer this page now; it reverts by itself.' : ''}</span>
        <button type="button" name="safe-mode-confirm" onClick={() => act('confirm')}>Keep the change</button>
        <button type="button" class="danger" name="safe-mode-revert" onClick={() => act('revert')}>Revert now</button>
        {error ? <span class="error">{error}</span> : null}
      </div>
    );
  }
  const last = state?.last;
  if (last && last.kind !== 'confirmed' && dismissed !== last.at) {
    return (
      <div class="safe-mode" role="alert" aria-label="safe mode">
        <span>
          {last.kind === 'reverted'
            ? `Safe mode reverted the configuration to revision ${last.previousRevision} at ${new Date(last.at).toLocaleTimeString()} (now revision ${last.newRevision ?? '?'}): the change was not confirmed.`
            : `Safe mode could not revert to revision ${last.previousRevision}: ${last.error ?? 'unknown error'}. Use History to roll back.`}
        </span>
        <button type="button" name="safe-mode-dismiss" onClick={() => setDismissed(last.at)}>Dismiss</button>
      </div>
    );
  }
  return null;
}
