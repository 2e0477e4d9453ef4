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
import { sql } from 'drizzle-orm';
import { asDate, asDateOrNull, type Db, queryRows } from '../db/client.js';

/** A running job without a heartbeat for this long is considered abandoned, s. */
export const STALE_AFTER_SECONDS = 60;

export type JobStatus = 'running' | 'succeeded' | 'failed';

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  params: Record<string, unknown>;
  /** Units of work (codes, rows) to do and done so far. */
  total: number;
  done: number;
  result: unknown;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  params: Record<string, unknown>;
  total: number;
  done: number;
  result: unknown;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  finished_at: Date | string | null;
}

function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    params: typeof row.params === 'string' ? JSON.parse(row.params) : row.params,
    total: row.total,
    done: row.done,
    result: typeof row.result === 'string' ? JSON.parse(row.result) : row.result,
    error: row.error,
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
    finishedAt: asDateOrNull(row.finished_at),
  };
}

/** Inserts a running job; undefined when a unique index refuses it (another archival is running). */
export async function insertJob(
  db: Db,
  input: { kind: string; params: Record<string, unknown>; total: number },
): Promise<Job | undefined> {
  const rows = await queryRows<JobRow>(
    db,
    sql`INSERT INTO jobs (kind, params, total) VALUES (${input.kind}, ${JSON.stringify(input.params)}::jsonb, ${input.total})
        ON CONFLICT DO NOTHING RETURNING *`,
  );
  return rows[0] && jobFromRow(rows[0]);
}

export async function findJob(db: Db, id: string): Promise<Job | undefined> {
  const rows = await queryRows<JobRow>(db, sql`SELECT * FROM jobs WHERE id = ${id}`);
  return rows[0] && jobFromRow(rows[0]);
}

/** Sets progress (and refreshes the heartbeat) of a job whose work is not transactional with it. */
export async function setJobProgress(db: Db, id: string, done: number, total?: number): Promise<void> {
  await db.execute(
    sql`UPDATE jobs SET done = ${done}, total = coalesce(${total ?? null}::int, total), updated_at = now()
        WHERE id = ${id}`,
  );
}

export async function finishJob(db: Db, id: string, result: unknown): Promise<void> {
  await db.execute(
    sql`UPDATE jobs SET status = 'succeeded', result = ${JSON.stringify(result ?? null)}::jsonb,
               updated_at = now(), finished_at = now()
        WHERE id = ${id} AND status = 'running'`,
  );
}

/** Marks a running job failed with the message of `error` (any thrown value). */
export async function failJob(db: Db, id: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await db.execute(
    sql`UPDATE jobs SET status = 'failed', error = ${message}, updated_at = now(), finished_at = now()
        WHERE id = ${id} AND status = 'running'`,
  );
}

/**
 * Takes over the abandoned running jobs of `kind` (heartbeat older than {@link STALE_AFTER_SECONDS}):
 * refreshes their heartbeat in one UPDATE, so of several processes starting together exactly one
 * gets each job. Returns the jobs taken.
 */
export async function takeOverStaleJobs(db: Db, kind: string): Promise<Job[]> {
  const rows = await queryRows<JobRow>(
    db,
    sql`UPDATE jobs SET updated_at = now()
        WHERE kind = ${kind} AND status = 'running'
          AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})
        RETURNING *`,
  );
  return rows.map(jobFromRow);
}

/** Marks the abandoned running jobs of `kind` failed; returns how many. */
export async function failStaleJobs(db: Db, kind: string, error: string): Promise<number> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`UPDATE jobs SET status = 'failed', error = ${error}, finished_at = now()
        WHERE kind = ${kind} AND status = 'running'
          AND updated_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})
        RETURNING id`,
  );
  return rows.length;
}
