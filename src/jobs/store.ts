/**
 * Jobs: long work run in-process (code generation, archival) with its progress, in the `jobs`
 * table so any process can report it (`GET /v1/jobs/{id}`).
 *
 * `done` is advanced by the job's own batch statements, in the same transaction as the work of
 * the batch, so it is exact even after a crash. `updated_at` is the heartbeat, refreshed with
 * every batch; a `running` job whose heartbeat is older than {@link STALE_AFTER_SECONDS} belonged
 * to a process that died. What happens to it then is the job kind's decision (src/jobs/runner.ts):
 * code generation resumes where it stopped, archival is marked failed and simply runs again.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { jobs } from '../db/schema.js';

/** A running job without a heartbeat for this long is considered abandoned, s. */
export const STALE_AFTER_SECONDS = 60;

export type JobStatus = 'running' | 'succeeded' | 'failed';

/**
 * A job as stored (`jobs` table): `total`/`done` are units of work (codes, rows) to do and done
 * so far; `params` and `result` are JSON; `updatedAt` is the heartbeat.
 */
export type Job = Omit<typeof jobs.$inferSelect, 'status' | 'params'> & {
  status: JobStatus;
  params: Record<string, unknown>;
};

const asJob = (row: typeof jobs.$inferSelect): Job => row as Job;

/** `updated_at` older than the abandonment bound. */
const stale = () => lt(jobs.updatedAt, sql`now() - make_interval(secs => ${STALE_AFTER_SECONDS})`);

/** Inserts a running job; undefined when a unique index refuses it (another archival is running). */
export async function insertJob(
  db: Db,
  input: { kind: string; params: Record<string, unknown>; total: number },
): Promise<Job | undefined> {
  const [row] = await db
    .insert(jobs)
    .values({ kind: input.kind, params: input.params, total: input.total })
    .onConflictDoNothing()
    .returning();
  return row && asJob(row);
}

export async function findJob(db: Db, id: string): Promise<Job | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  return row && asJob(row);
}

/** Sets progress (and refreshes the heartbeat) of a job whose work is not transactional with it. */
export async function setJobProgress(db: Db, id: string, done: number, total?: number): Promise<void> {
  await db
    .update(jobs)
    .set({ done, ...(total === undefined ? {} : { total }), updatedAt: sql`now()` })
    .where(eq(jobs.id, id));
}

export async function finishJob(db: Db, id: string, result: unknown): Promise<void> {
  await db
    .update(jobs)
    .set({ status: 'succeeded', result: result ?? null, updatedAt: sql`now()`, finishedAt: sql`now()` })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'running')));
}

/** Marks a running job failed with the message of `error` (any thrown value). */
export async function failJob(db: Db, id: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await db
    .update(jobs)
    .set({ status: 'failed', error: message, updatedAt: sql`now()`, finishedAt: sql`now()` })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'running')));
}

/**
 * Takes over the abandoned running jobs of `kind` (heartbeat older than {@link STALE_AFTER_SECONDS}):
 * refreshes their heartbeat in one UPDATE, so of several processes starting together exactly one
 * gets each job. Returns the jobs taken.
 */
export async function takeOverStaleJobs(db: Db, kind: string): Promise<Job[]> {
  const rows = await db
    .update(jobs)
    .set({ updatedAt: sql`now()` })
    .where(and(eq(jobs.kind, kind), eq(jobs.status, 'running'), stale()))
    .returning();
  return rows.map(asJob);
}

/** Marks the abandoned running jobs of `kind` failed; returns how many. */
export async function failStaleJobs(db: Db, kind: string, error: string): Promise<number> {
  const rows = await db
    .update(jobs)
    .set({ status: 'failed', error, finishedAt: sql`now()` })
    .where(and(eq(jobs.kind, kind), eq(jobs.status, 'running'), stale()))
    .returning({ id: jobs.id });
  return rows.length;
}
