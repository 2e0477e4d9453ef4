/** `stampede migrate`: applies the committed SQL migrations and exits. */
import type { Command } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { loadConfig } from '../config.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (also done at serve start)')
    .action(async () => {
      const runtime = await openRuntime(loadConfig(), { command: 'migrate' });
      try {
        const { engine } = runtime.database;
        const byServer = engine === 'pglite' && !runtime.dataDirLock;
        console.log(`migrations applied (${engine}${byServer ? ', by the server holding DATA_DIR' : ''})`);
      } finally {
        await runtime.close();
      }
    });
}
