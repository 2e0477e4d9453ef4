/**
 * Runs jobs in the background of the current process and keeps track of them, so shutdown can
 * stop them between two batches (`close()`): a job stopped that way stays `running` with an
 * aging heartbeat and is handled like one whose process died (src/jobs/store.ts).
 */
import type { Db } from '../db/client.js';
import { failJob, finishJob, type Job } from './store.js';

/** The work of a job: batches until done or until `signal` aborts; returns the job's result. */
export type JobWork = (job: Job, signal: AbortSignal) => Promise<unknown>;

export class JobRunner {
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly onError: (job: Job, error: unknown) => void = () => {},
  ) {}

  /** Starts `work` for an inserted `job` without waiting; the job ends `succeeded` or `failed`. */
  start(job: Job, work: JobWork): void {
    const run = (async () => {
      try {
        const result = await work(job, this.abort.signal);
        if (this.abort.signal.aborted) return;
        await finishJob(this.db, job.id, result);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.onError(job, error);
        await failJob(this.db, job.id, error).catch(() => {});
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Resolves when every job started so far has ended (tests; graceful shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops every job at its next batch boundary and waits for it. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.idle();
  }
}
