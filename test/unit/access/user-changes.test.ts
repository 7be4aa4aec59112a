import t from 'tap';
import { onlyUsersChanged, usersLosingAccess } from '../../../firmware/access/user-changes.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { storedUser } from '../../../firmware/config/users.ts';

const withUsers = (users: Array<[string, boolean]>): PosternConfig => {
  const c = defaultConfig();
  c.users = users.map(([name, enabled]) => storedUser({ name, password: `Pass-${name}-12345678`, enabled }));
  return c;
};
const slice = (c: PosternConfig) => ({ ikev2: c.listeners.ikev2, users: c.users, pools: c.pools });

t.test('a change to the users alone is told apart from one that needs a restart', async (t) => {
  const before = withUsers([['alice', true]]);
  const added = withUsers([['alice', true], ['bob', true]]);
  t.ok(onlyUsersChanged(before, added, slice), 'a user added');
  t.notOk(onlyUsersChanged(before, structuredClone(before), slice), 'nothing changed at all: nothing to do live');
  const alsoPools = structuredClone(added);
  alsoPools.pools[0]!.dns = ['192.0.2.53'];
  t.notOk(onlyUsersChanged(before, alsoPools, slice), 'users and pools: a restart');
  const otherSubsystem = structuredClone(before);
  otherSubsystem.listeners.sstp.port = 8443;
  t.notOk(onlyUsersChanged(before, otherSubsystem, slice), 'a change outside the users is not a users-only change');
});

t.test('who loses access: disabled or removed, not those with a new password', async (t) => {
  const before = withUsers([['alice', true], ['bob', true], ['carol', false], ['dave', true]]);
  const next = withUsers([['alice', false], ['carol', true], ['dave', true]]);
  next.users[2] = storedUser({ name: 'dave', password: 'A-New-Password-987', enabled: true });
  t.same([...usersLosingAccess(before, next)].sort(), ['alice', 'bob'], 'alice disabled, bob removed; carol enabled and dave re-keyed keep theirs');
});
