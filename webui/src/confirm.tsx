/**
 * A confirmation asked in the page (a modal <dialog>) rather than window.confirm: it says what will
 * happen in the technician's words, names its action on the button, and can be read and answered on
 * a phone. `useConfirm()` gives an `ask(question) → Promise<boolean>` and the element to render;
 * `askText` asks for one value in the same dialog (e.g. a password), undefined when cancelled.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Question {
  readonly title: string;
  readonly body: ComponentChildren;
  /** The button that goes ahead, e.g. "Remove alice". */
  readonly action: string;
  readonly danger?: boolean;
}

/** One input in the dialog: its label, name (for tests and autofill) and type. */
export interface AskedField {
  readonly label: string;
  readonly name: string;
  readonly type?: 'text' | 'password';
  readonly minLength?: number;
}

export function useConfirm(): { ask: (q: Question) => Promise<boolean>; askText: (q: Question & { field: AskedField }) => Promise<string | undefined>; dialog: ComponentChildren } {
  const [open, setOpen] = useState<{ q: Question; field?: AskedField; answer: (value: string | undefined) => void }>();
  const ask = (q: Question) => new Promise<boolean>((done) => setOpen({ q, answer: (v) => done(v !== undefined) }));
  const askText = (q: Question & { field: AskedField }) => new Promise<string | undefined>((answer) => setOpen({ q, field: q.field, answer }));
  const close = (value: string | undefined) => {
    open?.answer(value);
    setOpen(undefined);
  };
  return { ask, askText, dialog: open ? <ConfirmDialog question={open.q} field={open.field} onAnswer={close} /> : null };
}

function ConfirmDialog(props: { question: Question; field?: AskedField | undefined; onAnswer: (value: string | undefined) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const q = props.question;
  const f = props.field;
  // A form: Enter in the field answers yes, as the action button does; the browser checks minLength.
  const submit = (e: Event) => (e.preventDefault(), props.onAnswer(f ? value : ''));
  return (
    // Escape closes a modal dialog with a 'cancel' event: that is a no.
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-body" onCancel={(e) => (e.preventDefault(), props.onAnswer(undefined))}>
      <form method="dialog" onSubmit={submit}>
        <h3 id="confirm-title">{q.title}</h3>
        <div id="confirm-body">{q.body}</div>
        {f ? (
          <label class="field">
            <span>{f.label}</span>
            {f.type === 'password'
              ? <input name={f.name} type="password" value={value} onInput={(e) => setValue(e.currentTarget.value)} required minLength={f.minLength} autofocus autocomplete="new-password" />
              : <input name={f.name} type="text" value={value} onInput={(e) => setValue(e.currentTarget.value)} required minLength={f.minLength} autofocus autocomplete="off" />}
          </label>
        ) : null}
        <div class="actions">
          <button type="button" class="secondary" onClick={() => props.onAnswer(undefined)} autofocus={!f}>Cancel</button>
          <button type="submit" class={q.danger ? 'danger' : ''}>{q.action}</button>
        </div>
      </form>
    </dialog>
  );
}
