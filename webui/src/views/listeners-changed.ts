/**
 * The listener cards (switches, L2TP/IPsec, PPTP) change the same `listeners` document: each one
 * announces a saved change and reloads when another one announces theirs.
 */
import { useEffect } from 'preact/hooks';

const LISTENERS_CHANGED = 'postern:listeners-changed';

/** Tells the other listener cards to reload. */
export function announceListenersChanged(): void {
  window.dispatchEvent(new Event(LISTENERS_CHANGED));
}

/** Loads once, then again whenever a listener card announces a change. */
export function useListenersLoad(load: () => Promise<void>): void {
  useEffect(() => {
    void load();
    const reload = () => void load();
    window.addEventListener(LISTENERS_CHANGED, reload);
    return () => window.removeEventListener(LISTENERS_CHANGED, reload);
  }, []);
}
