/** Who checks a listener's passwords (issue 21): the users here, the RADIUS servers, or RADIUS then the users here. */
import { Field } from '../ui.tsx';

export type UserAuth = 'local' | 'radius' | 'radius-then-local';

/** The password check of a listener: local users, RADIUS, or RADIUS with the local users as a fallback. */
export function UserAuthField(props: { label: string; name: string; value: UserAuth; error: string | undefined; onChange: (v: UserAuth) => void }) {
  return (
    <Field label={props.label} error={props.error} hint="RADIUS needs a server under RADIUS; the fallback to local users happens only when no server answers, and is logged">
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as UserAuth)}>
        <option value="local">Local users</option>
        <option value="radius">RADIUS</option>
        <option value="radius-then-local">RADIUS, then local users when no server answers</option>
      </select>
    </Field>
  );
}
