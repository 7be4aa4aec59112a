/**
 * A confirmation asked in the page (a modal <dialog>) rather than window.confirm: it says what will
 * happen in the technician's words, names its action on the button, and can be read and answered on
 * a phone. `useConfirm()` gives an `ask(question) → Promise<boolean>` and the element to render.
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

export function useConfirm(): { ask: (q: Question) => Promise<boolean>; dialog: ComponentChildren } {
  const [open, setOpen] = useState<{ q: Question; answer: (yes: boolean) => void }>();
  const ask = (q: Question) => new Promise<boolean>((answer) => setOpen({ q, answer }));
  const close = (yes: boolean) => {
    open?.answer(yes);
    setOpen(undefined);
  };
  return { ask, dialog: open ? <ConfirmDialog question={open.q} onAnswer={close} /> : null };
}

function ConfirmDialog(props: { question: Question; onAnswer: (yes: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const q = props.question;
  return (
    // Escape closes a modal dialog with a 'cancel' event: that is a no.
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-body" onCancel={(e) => (e.preventDefault(), props.onAnswer(false))}>
      <h3 id="confirm-title">{q.title}</h3>
      <div id="confirm-body">{q.body}</div>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => props.onAnswer(false)} autofocus>Cancel</button>
        <button type="button" class={q.danger ? 'danger' : ''} onClick={() => props.onAnswer(true)}>{q.action}</button>
      </div>
    </dialog>
  );
}
