/** Small shared pieces: a form field with its error, a message line, time and size formatting. */
import type { ComponentChildren } from 'preact';

export function Field(props: { label: string; error?: string | undefined; children: ComponentChildren }) {
  return (
    <label class={`field${props.error ? ' invalid' : ''}`}>
      <span>{props.label}</span>
      {props.children}
      {props.error ? <small class="error" role="alert">{props.error}</small> : null}
    </label>
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
