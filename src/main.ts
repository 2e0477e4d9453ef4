#!/usr/bin/env node
/**
 * The `stampede` command line: one subcommand per file in src/cli/. Configuration comes from the
 * environment (see src/config.ts); a bad variable exits with status 2 and a message naming it.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerArchive } from './cli/archive.js';
import { registerCodes } from './cli/codes.js';
import { registerDeadLetters } from './cli/dead-letters.js';
import { describeCliError } from './cli/errors.js';
import { registerMigrate } from './cli/migrate.js';
import { registerReconcile } from './cli/reconcile.js';
import { registerServe } from './cli/serve.js';
import { registerSimulate } from './cli/simulate.js';
import { registerUsers } from './cli/users.js';
import { registerWorker } from './cli/worker.js';
import { loadConfig } from './config.js';

const program = new Command()
  .name('stampede')
  .description('Coupon service for first-come-first-served events')
  .version(packageVersion(), '-V, --version', 'print the version');

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
  const { line, exitCode } = describeCliError(error);
  console.error(line);
  if (debugging()) console.error(error);
  process.exit(exitCode);
}

/** The version in package.json (one level above both src/ and dist/). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** True when LOG_LEVEL asks for debug output (then the failure's stack is printed too). */
function debugging(): boolean {
  try {
    return ['debug', 'trace'].includes(loadConfig().logLevel);
  } catch {
    return false;
  }
}
