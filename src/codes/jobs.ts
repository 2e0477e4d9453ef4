/**
 * Code generation as a job (`kind = 'generate-codes'`) for counts above SYNC_CODES_LIMIT.
 *
 * The job's `done` advances inside each batch's transaction, so it always equals the codes the
 * job really inserted. When the process dies mid-run, the job stays `running` and its heartbeat
 * ages; a running `stampede serve` (at start, then every minute: {@link resumeCodeJobs}) takes it over and generates
 * the missing `total − done` codes — no code is lost or made twice beyond the requested count.
 */
import type { Db } from '../db/client.js';
import type { JobRunner } from '../jobs/runner.js';
import { insertJob, type Job, takeOverStaleJobs } from '../jobs/store.js';
import type { CodeOptions } from './generator.js';
import { type GenerateRequest, generateCampaignCodes } from './service.js';

export const CODE_JOB_KIND = 'generate-codes';

interface CodeJobParams {
  campaignId: string;
  options: CodeOptions;
}

/** Inserts the job and starts it in the background; returns it at once. The request must be checked. */
export async function startCodeJob(db: Db, runner: JobRunner, request: GenerateRequest): Promise<Job> {
  const params: CodeJobParams = { campaignId: request.campaignId, options: request.options };
  const job = await insertJob(db, {
    kind: CODE_JOB_KIND,
    params: params as unknown as Record<string, unknown>,
    total: request.count,
  });
  if (!job) throw new Error('a code generation job could not be inserted');
  runner.start(job, (running, signal) => runCodeJob(db, running, signal));
  return job;
}

/** Takes over code jobs abandoned by dead processes and resumes them; returns them. */
export async function resumeCodeJobs(db: Db, runner: JobRunner): Promise<Job[]> {
  const jobs = await takeOverStaleJobs(db, CODE_JOB_KIND);
  for (const job of jobs) runner.start(job, (running, signal) => runCodeJob(db, running, signal));
  return jobs;
}

async function runCodeJob(db: Db, job: Job, signal: AbortSignal): Promise<{ generated: number }> {
  const params = job.params as unknown as CodeJobParams;
  const missing = job.total - job.done;
  if (missing > 0) {
    await generateCampaignCodes(
      db,
      { campaignId: params.campaignId, count: missing, options: params.options },
      { jobId: job.id, signal },
    );
  }
  return { generated: job.total };
}
