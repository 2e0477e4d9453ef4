/**
 * `stampede dead-letters list [--campaign ID]` and `stampede dead-letters retry (--campaign ID |
 * --id ID | --all)`: inspect and replay claims the worker could not persist.
 */
import type { Command } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { loadConfig } from '../config.js';
import { listDeadLetters, retryDeadLetters } from '../gate/dead-letters.js';
import { GateLoader } from '../gate/loader.js';
import { connectRedis } from '../redis/connection.js';
import { integer, uuid } from './options.js';

export function registerDeadLetters(program: Command): void {
  const command = program
    .command('dead-letters')
    .description('claims the redis-gate worker could not persist');
  command
    .command('list')
    .description('print dead letters, oldest first')
    .option('--campaign <id>', 'only this campaign', uuid)
    .option('--limit <n>', 'at most this many', integer(1, 100_000), 100)
    .action(async (options: { campaign?: string; limit: number }) => {
      const runtime = await openRuntime(loadConfig(), { command: 'dead-letters list' });
      try {
        const letters = await listDeadLetters(runtime.database.db, {
          campaignId: options.campaign,
          limit: options.limit,
        });
        if (letters.length === 0) console.log('no dead letters');
        else
          console.table(
            letters.map((l) => ({
              id: l.id,
              claim: l.claimId,
              campaign: l.campaignId,
              user: l.userId,
              deliveries: l.deliveries,
              error: l.error.slice(0, 80),
            })),
          );
      } finally {
        await runtime.close();
      }
    });
  command
    .command('retry')
    .description('put dead letters back into their campaign stream (then delete them)')
    .option('--campaign <id>', 'every dead letter of this campaign', uuid)
    .option('--id <id>', 'one dead letter', uuid)
    .option('--all', 'every dead letter')
    .action(async (options: { campaign?: string; id?: string; all?: boolean }) => {
      if (!options.campaign && !options.id && !options.all)
        program.error('error: give --campaign, --id or --all');
      const config = loadConfig();
      const runtime = await openRuntime(config, { command: 'dead-letters retry' });
      try {
        const redis = await connectRedis(config.redis, 'cli');
        try {
          const db = runtime.database.db;
          let letters = await listDeadLetters(db, { campaignId: options.campaign, limit: 1_000_000 });
          if (options.id) letters = letters.filter((l) => l.id === options.id);
          const loader = new GateLoader(db, redis, config.redis.lockWaitMs);
          const result = await retryDeadLetters(db, redis, loader, letters);
          console.log(`requeued ${result.requeued.length}, skipped ${result.skipped.length}`);
          if (result.skipped.length > 0) process.exitCode = 1;
        } finally {
          await redis.close();
        }
      } finally {
        await runtime.close();
      }
    });
}
