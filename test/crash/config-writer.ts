// A writer for the crash and concurrency tests: writes N revisions (or forever with N = 0) to the
// store in DIR and prints `ack <revision>` after each write has returned.
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { storedUser } from '../../firmware/config/users.ts';

const [dir, tag = 'w', countText = '0'] = process.argv.slice(2);
if (!dir) throw new Error('usage: config-writer DIR [TAG] [COUNT]');
const count = Number(countText);
const store = await ConfigStore.open(dir, { logger: createLogger({ level: 'error' }), keep: 1000 });
process.stdout.write('ready\n');
for (let i = 1; count === 0 || i <= count; i++) {
  const config = defaultConfig();
  // Vary the size so that torn writes would show as truncated or mixed JSON.
  config.users = Array.from({ length: i % 17 }, (_, u) => storedUser({ name: `${tag}${i}-${u}`, password: `password-${i}-${u}`, enabled: true }));
  const { revision } = await store.write(config, { author: `${tag}`, comment: `write ${i}` });
  process.stdout.write(`ack ${revision}\n`);
}
