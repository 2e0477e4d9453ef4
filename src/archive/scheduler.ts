/**
 * The in-process archival schedule (default every 90 days, seed 004's "every 3 months").
 *
 * Every process of `stampede serve` runs the schedule; the database decides: a run starts only
 * when the last archival job began more than ARCHIVE_INTERVAL ago, and the unique index on
 * running archive jobs lets one process at a time run it. The timer wakes at least hourly (a
 * Node timer cannot wait 90 days: delays above 2^31−1 ms fire at once), so a restart never
 * postpones a due run by more than an hour.
 */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { ARCHIVE_JOB_KIND, type ArchiveReport, runArchive } from './service.js';

/** Longest wait between two checks, s. */
const MAX_TICK_SECONDS = 3600;

export interface ArchiveSchedulerOptions {
  afterSeconds: number;
  intervalSeconds: number;
  /** Called after each run (tests wait on it; the server logs it). */
  onRun?: (report: ArchiveReport) => void;
  onError?: (error: unknown) => void;
}

export class ArchiveScheduler {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly options: ArchiveSchedulerOptions,
  ) {}

  /** Starts checking; a no-op when the interval is 0 (schedule disabled). */
  start(): void {
    if (this.options.intervalSeconds <= 0) return;
    this.schedule(0);
  }

  /** Stops the schedule and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delaySeconds: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick().finally(() => {
        this.current = undefined;
      });
    }, delaySeconds * 1000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const interval = this.options.intervalSeconds;
    let wait = Math.min(interval, MAX_TICK_SECONDS);
    try {
      const sinceLast = await secondsSinceLastRun(this.db);
      if (sinceLast === undefined || sinceLast >= interval) {
        const report = await runArchive(this.db, { afterSeconds: this.options.afterSeconds });
        this.options.onRun?.(report);
      } else {
        wait = Math.min(interval - sinceLast, MAX_TICK_SECONDS);
      }
    } catch (error) {
      this.options.onError?.(error);
    }
    this.schedule(Math.max(wait, 1));
  }
}

/** Seconds since the last archival job started, or undefined when none ever did. */
async function secondsSinceLastRun(db: Db): Promise<number | undefined> {
  const rows = await queryRows<{ seconds: number | null }>(
    db,
    sql`SELECT extract(epoch FROM now() - max(created_at))::float8 AS seconds FROM jobs WHERE kind = ${ARCHIVE_JOB_KIND}`,
  );
  const seconds = rows[0]?.seconds;
  return seconds === null || seconds === undefined ? undefined : Number(seconds);
}
