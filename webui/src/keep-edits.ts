/**
 * The reload that follows a save replaces the form with what the box now holds only if nothing was typed
 * since the save was sent; otherwise a technician's next edit, made while the reload was on its way,
 * would silently go back to the saved value. Each keystroke makes a new form object, so identity tells.
 */
export const unlessEdited = <T>(sent: T | undefined, fresh: T) => (now: T | undefined): T =>
  sent === undefined || now === sent ? fresh : (now as T);
