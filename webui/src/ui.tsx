/** Small shared pieces: a form field with its error, a message line, time and size formatting. */
import type { ComponentChildren } from 'preact';
import type { FormIssues } from './api.ts';

export function Field(props: { label: string; error?: string | undefined; warning?: string | undefined; hint?: string | undefined; children: ComponentChildren }) {
  return (
    <label class={`field${props.error ? ' invalid' : props.warning ? ' warned' : ''}`}>
      <span>{props.label}</span>
      {props.children}
      {props.error ? <small class="error" role="alert">{props.error}</small> : null}
      {props.warning ? <small class="warning">{props.warning}</small> : null}
      {props.hint && !props.error ? <small class="hint">{props.hint}</small> : null}
    </label>
  );
}

/** The API's warnings for the last change, as a banner: each with the setting it is about. */
export function WarningBanner(props: { issues: FormIssues }) {
  const warnings = props.issues.banner;
  if (warnings.length === 0) return null;
  const count = warnings.length === 1 ? 'a warning' : `${warnings.length} warnings`;
  return (
    <div class="message warn banner" role="status" aria-label="warnings">
      <strong>{props.issues.refused ? `Not saved. ${count[0]!.toUpperCase()}${count.slice(1)} about what was sent:` : `Saved, with ${count}:`}</strong>
      <ul>{warnings.map((w) => <li key={`${w.path}:${w.message}`} data-path={w.path}><code>{w.path}</code> {w.message}</li>)}</ul>
    </div>
  );
}

/** Errors the API named at settings this form has no field for: listed, each with its path. */
export function Elsewhere(props: { issues: FormIssues }) {
  if (props.issues.elsewhere.length === 0) return null;
  return (
    <ul class="message error elsewhere" role="alert">
      {props.issues.elsewhere.map((i) => <li key={`${i.path}:${i.message}`} data-path={i.path}><code>{i.path}</code> {i.message}</li>)}
    </ul>
  );
}

export function Message(props: { text: string | undefined; kind?: 'error' | 'ok' | 'warn' }) {
  return props.text ? <p class={`message ${props.kind ?? 'error'}`} role={props.kind === 'ok' ? 'status' : 'alert'}>{props.text}</p> : null;
}

export const since = (ms: number): string => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
};

export const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / (1 << 30)).toFixed(2)} GB`);

export const duration = (seconds: number): string => `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
