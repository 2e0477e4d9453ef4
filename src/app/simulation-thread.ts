/**
 * `stampede simulate`'s server in a worker thread of its own, so the simulated load and the
 * server it measures never share an event loop: with one loop, the load generator's work delayed
 * the server's, tripped its load shedding (503s) and inflated the latencies it reported.
 *
 * The main thread keeps the load generator and the report; the worker thread runs the in-process
 * target (src/app/simulation-target.ts) and answers its three requests — wait for the pipeline
 * to settle, read the invariants' figures, close — over the thread's message port.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DatabaseTruth } from '../simulate/invariants.js';
import type { SimulationTarget } from '../simulate/target.js';
import { type InProcessOptions, startInProcessTarget } from './simulation-target.js';

/** What the worker thread receives: the in-process options that can cross a thread boundary. */
type ThreadOptions = Omit<InProcessOptions, 'issuance'>;

type Request =
  | { id: number; kind: 'settle'; acknowledgedIds: readonly string[] }
  | { id: number; kind: 'truth'; campaignId: string; acknowledgedIds: readonly string[] }
  | { id: number; kind: 'close' };

/** A request before it is numbered (Omit distributed over the union's members). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

type Reply = { id: number; value?: unknown; error?: string };

type Ready = Pick<SimulationTarget, 'url' | 'token' | 'engine' | 'strategy'> & { settles: boolean };

/**
 * Starts the in-process target in a worker thread and returns a target whose requests go to it.
 * @throws Error with the worker's message when the server cannot start.
 */
export async function startThreadedTarget(options: ThreadOptions): Promise<SimulationTarget> {
  const worker = new Worker(threadEntry(), { eval: true, workerData: options });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const ready = new Promise<Ready>((resolve, reject) => {
    worker.once('message', (message: { ready?: Ready; error?: string }) => {
      if (message.ready) resolve(message.ready);
      else reject(new Error(message.error ?? 'the simulation server did not start'));
    });
    worker.once('error', reject);
  });
  const info = await ready;
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error === undefined) waiter.resolve(reply.value);
    else waiter.reject(new Error(reply.error));
  });
  worker.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  const ask = <T>(request: Unnumbered<Request>): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  return {
    mode: 'in-process',
    ...info,
    readTruth: (campaignId, acknowledgedIds) =>
      ask<DatabaseTruth>({ kind: 'truth', campaignId, acknowledgedIds }),
    waitForSettled: info.settles
      ? (acknowledgedIds) => ask<void>({ kind: 'settle', acknowledgedIds })
      : undefined,
    close: async () => {
      try {
        await ask<void>({ kind: 'close' });
      } finally {
        await worker.terminate();
      }
    },
  };
}

/**
 * The code that starts the thread: imports this module. Run from source (a `.ts` file under
 * tsx), the thread registers tsx first: Node 20 does not pass the parent's loader hooks
 * (`--import tsx`) on to worker threads.
 */
function threadEntry(): string {
  const self = JSON.stringify(import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return `import(${self})`;
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${tsx}).then((tsx) => tsx.register()).then(() => import(${self}))`;
}

/** The worker thread's side: start the target, then answer requests until `close`. */
async function serveThread(options: ThreadOptions): Promise<void> {
  const port = parentPort!;
  let target: SimulationTarget;
  try {
    target = await startInProcessTarget(options);
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? error.message : String(error) });
    return;
  }
  const ready: Ready = {
    url: target.url,
    token: target.token,
    engine: target.engine,
    strategy: target.strategy,
    settles: target.waitForSettled !== undefined,
  };
  port.postMessage({ ready });
  port.on('message', async (request: Request) => {
    try {
      let value: unknown;
      if (request.kind === 'settle') await target.waitForSettled?.(request.acknowledgedIds);
      else if (request.kind === 'truth')
        value = await target.readTruth?.(request.campaignId, request.acknowledgedIds);
      else await target.close();
      port.postMessage({ id: request.id, value } satisfies Reply);
      if (request.kind === 'close') port.close();
    } catch (error) {
      port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
}

if (!isMainThread && parentPort && (workerData as { strategy?: unknown } | null)?.strategy) {
  await serveThread(workerData as ThreadOptions);
}
