/**
 * `stampede archive [--dry-run]`: moves campaigns soft-deleted longer than ARCHIVE_AFTER, with
 * their coupons and redemptions, into the archive tables now (the server also does it every
 * ARCHIVE_INTERVAL). `--dry-run` only counts. Safe to interrupt and rerun.
 */
import type { Command } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { runArchive } from '../archive/service.js';
import { loadConfig } from '../config.js';
import { type Progress, progressBar } from './progress.js';

export function registerArchive(program: Command): void {
  program
    .command('archive')
    .description('archive campaigns soft-deleted longer than ARCHIVE_AFTER (with coupons and redemptions)')
    .option('--dry-run', 'count what would be archived, change nothing')
    .action(async (flags: { dryRun?: boolean }) => {
      const config = loadConfig();
      const runtime = await openRuntime(config, { command: 'archive' });
      let bar: Progress | undefined;
      try {
        const report = await runArchive(runtime.database.db, {
          afterSeconds: config.archiveAfterSeconds,
          dryRun: flags.dryRun === true,
          onProgress: (done, total) => {
            bar ??= progressBar('archive', total);
            bar.update(done);
          },
        });
        bar?.stop();
        if (report.skipped) {
          console.error('another archival is running; nothing done');
          process.exitCode = 1;
          return;
        }
        const { redemptions, coupons, campaigns } = report.rows;
        console.log(
          `${report.dryRun ? 'would archive' : 'archived'} ${report.campaigns} campaigns: ` +
            `${campaigns} campaign rows, ${coupons} coupons, ${redemptions} redemptions`,
        );
      } finally {
        bar?.stop();
        await runtime.close();
      }
    });
}
