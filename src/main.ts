#!/usr/bin/env node
/**
 * The `stampede` command line: one subcommand per file in src/cli/. Configuration comes from the
 * environment (see src/config.ts); a bad variable exits with status 2 and a message naming it.
 */
import { Command } from 'commander';
import { registerArchive } from './cli/archive.js';
import { registerCodes } from './cli/codes.js';
import { registerDeadLetters } from './cli/dead-letters.js';
import { registerMigrate } from './cli/migrate.js';
import { registerReconcile } from './cli/reconcile.js';
import { registerServe } from './cli/serve.js';
import { registerSimulate } from './cli/simulate.js';
import { registerUsers } from './cli/users.js';
import { registerWorker } from './cli/worker.js';
import { ConfigError } from './config.js';

const program = new Command()
  .name('stampede')
  .description('Coupon service for first-come-first-served events')
  .showHelpAfterError();

registerServe(program);
registerMigrate(program);
registerUsers(program);
registerWorker(program);
registerDeadLetters(program);
registerReconcile(program);
registerCodes(program);
registerArchive(program);
registerSimulate(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
}
