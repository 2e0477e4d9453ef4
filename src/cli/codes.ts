/**
 * `stampede codes generate --campaign ID --count N [--length L] [--charset C] [--prefix P]`:
 * generates codes directly against the database (same use case as `POST /v1/campaigns/{id}/codes`),
 * with a progress bar on a terminal. Exits 1 with the problem on bad input (src/cli/errors.ts).
 */
import type { Command } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { codeOptions } from '../codes/generator.js';
import { GenerateCodesBody } from '../codes/routes.js';
import { checkGenerateRequest, generateCampaignCodes, MAX_CODES_PER_REQUEST } from '../codes/service.js';
import { loadConfig } from '../config.js';
import { integer, matching, uuid } from './options.js';
import { progressBar } from './progress.js';

/** The request's fields: an option obeys the rules of the field it stands for. */
const fields = GenerateCodesBody.properties;

export function registerCodes(program: Command): void {
  const codes = program.command('codes').description('coupon codes');
  codes
    .command('generate')
    .description('generate unique codes for a campaign')
    .requiredOption('--campaign <id>', 'campaign id', uuid)
    .requiredOption('--count <n>', 'number of codes', integer(1, MAX_CODES_PER_REQUEST))
    .option('--length <n>', 'random characters per code, 4 to 64 (default 16)', matching(fields.length))
    .option(
      '--charset <chars>',
      'characters to draw from (default digits and letters)',
      matching(fields.charset),
    )
    .option('--prefix <text>', 'prefix of every code', matching(fields.prefix))
    .action(
      async (flags: {
        campaign: string;
        count: number;
        length?: number;
        charset?: string;
        prefix?: string;
      }) => {
        const runtime = await openRuntime(loadConfig(), { command: 'codes generate' });
        try {
          const request = { campaignId: flags.campaign, count: flags.count, options: codeOptions(flags) };
          await checkGenerateRequest(runtime.database.db, request);
          const bar = progressBar('codes', request.count);
          const started = performance.now();
          try {
            const generated = await generateCampaignCodes(runtime.database.db, request, {
              onBatch: (done) => bar.update(done),
            });
            bar.stop();
            const seconds = (performance.now() - started) / 1000;
            console.log(
              `generated ${generated} codes for campaign ${flags.campaign} in ${seconds.toFixed(1)} s`,
            );
          } finally {
            bar.stop();
          }
        } finally {
          await runtime.close();
        }
      },
    );
}
