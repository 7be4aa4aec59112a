/** One change a form sends and what the API said about it: errors at fields, warnings in the banner. */
import { useState } from 'preact/hooks';
import { ApiFailure, describe, formIssues, NO_ISSUES, warningsOf, type FormIssues, type Issue } from './api.ts';

export function useChange(place: (path: string) => string | undefined) {
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' | 'warn' }>();
  /** The last answer's errors and warnings as the API listed them, paths and all. */
  const [listed, setListed] = useState<{ errors: Issue[]; warnings: Issue[] }>({ errors: [], warnings: [] });
  const run = async (change: () => Promise<unknown>, done: string, after?: () => Promise<void>) => {
    setIssues(NO_ISSUES);
    setListed({ errors: [], warnings: [] });
    try {
      const answer = await change();
      setListed({ errors: [], warnings: warningsOf(answer) });
      setIssues(formIssues(answer, place));
      setMessage({ text: done, kind: 'ok' });
      await after?.();
    } catch (error) {
      const errors = error instanceof ApiFailure && Array.isArray(error.details['issues']) ? (error.details['issues'] as Issue[]) : [];
      setListed({ errors, warnings: warningsOf(error) });
      setIssues(formIssues(error, place));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return { issues, listed, message, setMessage, run };
}

/**
 * Issues at the entries of one list ("system.dns.servers[1]") as "300.1.1.1: why", so a field holding
 * the whole list says which entry is wrong.
 */
export function entryNotes(issues: readonly Issue[], list: string, values: readonly string[]): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const m = issue.path.startsWith(`${list}[`) ? /^\[(\d+)\]/.exec(issue.path.slice(list.length)) : null;
    if (m) out.push(`${values[Number(m[1])] ?? `entry ${m[1]}`}: ${issue.message}`);
  }
  return out;
}

/** "1.1.1.1, 9.9.9.9" or one per line → the list; blanks dropped. */
export const splitList = (text: string): string[] => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
