/**
 * `stampede reconcile [--campaign ID]`: checks per campaign that gate issued = persisted +
 * pending + dead letters, prints the table and exits with status 1 on a mismatch.
 */
import type { Command } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { campaignRowExists } from '../campaigns/repository.js';
import { loadConfig } from '../config.js';
import { DomainError } from '../errors.js';
import { reconcile } from '../gate/reconcile.js';
import { connectRedis } from '../redis/connection.js';
import { uuids } from './options.js';

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description('check gate issued = persisted + pending + dead letters for each redis-gate campaign')
    .option(
      '--campaign <id...>',
      'only these campaigns (default: every campaign of the stream registry)',
      uuids,
    )
    .action(async (options: { campaign?: string[] }) => {
      const config = loadConfig();
      const runtime = await openRuntime(config, { command: 'reconcile' });
      try {
        for (const id of options.campaign ?? []) {
          if (!(await campaignRowExists(runtime.database.db, id)))
            throw new DomainError('not-found', `campaign ${id} not found`);
        }
        const redis = await connectRedis(config.redis, 'cli');
        try {
          const rows = await reconcile(runtime.database.db, redis, { campaignIds: options.campaign });
          if (rows.length === 0) console.log('no redis-gate campaigns');
          else
            console.table(
              rows.map((r) => ({
                campaign: r.campaignId,
                'gate issued': r.gateIssued ?? 'not loaded',
                persisted: r.persisted,
                pending: r.pending,
                'dead letters': r.deadLetters,
                ok: r.ok ? 'yes' : 'MISMATCH',
              })),
            );
          const mismatches = rows.filter((r) => !r.ok).length;
          if (mismatches > 0) {
            console.error(`${mismatches} campaign(s) do not reconcile`);
            process.exitCode = 1;
          }
        } finally {
          await redis.close();
        }
      } finally {
        await runtime.close();
      }
    });
}
