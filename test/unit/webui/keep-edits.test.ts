// A form's reload after a save must not undo what the technician typed while it was on its way (the race
// that once cost webui-issue17 its LAN-address edit).
import t from 'tap';
import { unlessEdited } from '../../../webui/src/keep-edits.ts';

t.test('the saved form is replaced by what the box holds; a form edited since is kept', async (t) => {
  const sent = { lan: '192.168.1.1/24' };
  const fresh = { lan: '192.168.1.1/24' };
  t.equal(unlessEdited(sent, fresh)(sent), fresh, 'nothing typed since the save: the reload wins');
  const typed = { lan: '10.10.0.1/24' };
  t.equal(unlessEdited(sent, fresh)(typed), typed, 'typed since the save: the edit stays');
  t.equal(unlessEdited(undefined, fresh)(typed), fresh, 'a plain load (no save): the box\'s values');
  t.equal(unlessEdited(undefined, fresh)(undefined), fresh, 'the first load');
});
