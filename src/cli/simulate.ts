/**
 * `stampede simulate`: a flash sale against a real Stampede over HTTP, then a report and an exit
 * code: 0 when every invariant held, 1 when one broke (over-issue, a user above the limit, a
 * double redemption, an acknowledged claim without its coupon, a 5xx, an unanswered request).
 *
 * Without `--url` Stampede runs in this process on 127.0.0.1 (ephemeral port) with a fresh
 * in-memory PGlite, or on DATABASE_URL's PostgreSQL where it only adds a campaign.
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { startThreadedTarget } from '../app/simulation-thread.js';
import { loadConfig, STRATEGIES, type StrategyName } from '../config.js';
import { redisConfigured } from '../redis/connection.js';
import { formatReport, type SimulationReport } from '../simulate/report.js';
import { randomSeed, SIMULATE_DEFAULTS, simulate } from '../simulate/simulate.js';
import { remoteTarget, type SimulationTarget } from '../simulate/target.js';
import { integer } from './options.js';
import { type Progress, progressBar } from './progress.js';

interface SimulateCliOptions {
  users: number;
  stock: number;
  attempts: number;
  concurrency: number;
  perUserLimit: number;
  redeem: number;
  strategy?: StrategyName;
  url?: string;
  token?: string;
  seed?: number;
  json?: boolean;
  output?: string;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('simulate a flash sale over HTTP and check every guarantee (exit 1 if one breaks)')
    .option('--users <n>', 'distinct users racing', integer(1, 10_000_000), SIMULATE_DEFAULTS.users)
    .option('--stock <n>', 'coupons in the campaign', integer(1, 100_000_000), SIMULATE_DEFAULTS.stock)
    .option(
      '--attempts <n>',
      'claims per user at most (1..n each, concurrent)',
      integer(1, 255),
      SIMULATE_DEFAULTS.attempts,
    )
    .option(
      '--concurrency <n>',
      'requests in flight at most',
      integer(1, 10_000),
      SIMULATE_DEFAULTS.concurrency,
    )
    .option(
      '--per-user-limit <n>',
      'coupons one user may hold',
      integer(1, 100),
      SIMULATE_DEFAULTS.perUserLimit,
    )
    .option(
      '--redeem <n>',
      'issued coupons to redeem, two concurrent attempts each',
      integer(0, 10_000_000),
      SIMULATE_DEFAULTS.redeemSample,
    )
    .addOption(
      new Option(
        '--strategy <name>',
        'issuance strategy of the in-process server (default ISSUANCE_STRATEGY)',
      )
        .choices(STRATEGIES)
        .conflicts('url'),
    )
    .option('--url <url>', 'run against this Stampede server instead of an in-process one')
    .option('--token <jwt>', 'admin bearer token for --url (creates the campaign, acts for the users)')
    .option('--seed <n>', 'seed of the schedule, to replay a run', integer(0, 2 ** 31 - 1))
    .option('--json', 'print the report as JSON')
    .option('--output <file>', 'also write the report as JSON to this file')
    .action(async (options: SimulateCliOptions, command: Command) => {
      if (options.url && !options.token) command.error('error: --url needs --token (an admin bearer token)');
      if (options.token && !options.url) command.error('error: --token is only used with --url');
      if (options.url && !/^https?:\/\//.test(options.url)) command.error('error: --url must be http(s)://…');
      // The in-process server signs its own token with a random secret: JWT_SECRET is not needed.
      const config = loadConfig(process.env, { requireJwtSecret: false });
      const strategy = options.strategy ?? config.issuanceStrategy;
      if (!options.url && strategy.startsWith('redis-') && !redisConfigured(config.redis)) {
        command.error(`error: --strategy ${strategy} needs REDIS_URL or REDIS_CLUSTER_NODES`);
      }

      const target: SimulationTarget = options.url
        ? remoteTarget(options.url, options.token!)
        : await startThreadedTarget({ config, strategy, databaseUrl: config.databaseUrl });
      const progress = phaseProgress();
      let report: SimulationReport;
      try {
        report = await simulate(target, {
          users: options.users,
          stock: options.stock,
          attempts: options.attempts,
          concurrency: options.concurrency,
          perUserLimit: options.perUserLimit,
          seed: options.seed ?? randomSeed(),
          redeemSample: options.redeem,
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
        await target.close();
      }
      const json = JSON.stringify(report, null, 2);
      if (options.output) writeFileSync(options.output, `${json}\n`);
      console.log(options.json ? json : formatReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}

/**
 * One progress bar per phase (claims, then redemptions) on stderr when it is a terminal. The bar
 * is fed every 64th response: it redraws at most 10 times a second anyway, and the load generator
 * shares its CPU with the server.
 */
function phaseProgress() {
  let bar: Progress | undefined;
  let current: string | undefined;
  return {
    update: (phase: string, completed: number, total: number) => {
      if (phase !== current) {
        bar?.stop();
        current = phase;
        bar = progressBar(phase.padEnd(11), total);
      }
      if ((completed & 63) === 0 || completed === total) bar!.update(completed);
    },
    stop: () => bar?.stop(),
  };
}
