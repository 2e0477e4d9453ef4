/**
 * The HTTP load runner: sends a fixed number of requests with at most `concurrency` in flight and
 * records, per request, its latency (ms, in a preallocated Float64Array), its status and its
 * problem `code`. It shares the process with an in-process server on a small machine, so it keeps
 * the per-request work to the request itself: no timers, no per-request closures beyond the call.
 */
import { Pool } from 'undici';

/** What one request came back with. `status` 0 = no HTTP response (connection error, timeout). */
export interface Outcome {
  status: number;
  /** The problem+json `code` of an error response, or the transport error code when status is 0. */
  code?: string | undefined;
}

export interface PhaseResult {
  requests: number;
  /** Wall time from the first request sent to the last response read, ms. */
  durationMs: number;
  /** Latency of each request by index, ms (send → body read). */
  latenciesMs: Float64Array;
  /** Responses by HTTP status (0 = none). */
  byStatus: Map<number, number>;
  /** Error responses by problem `code`; transport failures as `transport:<code>`. */
  byCode: Map<string, number>;
}

/**
 * Runs `send(0..count-1)` with at most `concurrency` calls pending: `concurrency` loops each take
 * the next index until none is left, so a slow request never holds back the others' slots.
 * `send` must not throw for an HTTP error status; a thrown error counts as a transport failure.
 * @param onProgress called after each completed request with the number completed.
 */
export async function runPhase(
  count: number,
  concurrency: number,
  send: (index: number) => Promise<Outcome>,
  onProgress?: (completed: number) => void,
): Promise<PhaseResult> {
  const latenciesMs = new Float64Array(count);
  const byStatus = new Map<number, number>();
  const byCode = new Map<string, number>();
  let next = 0;
  let completed = 0;

  const loop = async () => {
    while (next < count) {
      const index = next++;
      const started = performance.now();
      let outcome: Outcome;
      try {
        outcome = await send(index);
      } catch (error) {
        outcome = { status: 0, code: `transport:${(error as { code?: string }).code ?? 'error'}` };
      }
      latenciesMs[index] = performance.now() - started;
      byStatus.set(outcome.status, (byStatus.get(outcome.status) ?? 0) + 1);
      if (outcome.code !== undefined) byCode.set(outcome.code, (byCode.get(outcome.code) ?? 0) + 1);
      completed++;
      onProgress?.(completed);
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, loop));
  return { requests: count, durationMs: performance.now() - started, latenciesMs, byStatus, byCode };
}

/** A JSON response: status and parsed body (undefined when empty or not JSON). */
export interface JsonResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

/**
 * A keep-alive HTTP client for one Stampede server: `connections` sockets, no pipelining (a
 * request never waits behind another on the same socket, so latencies are the server's).
 */
export class StampedeClient {
  private readonly pool: Pool;
  private readonly jsonHeaders: Record<string, string>;

  constructor(
    readonly baseUrl: string,
    token: string,
    connections: number,
  ) {
    this.pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
    this.jsonHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  }

  /** POSTs a JSON string; `extraHeaders` are merged over the bearer and content-type headers. */
  async post(path: string, body: string, extraHeaders?: Record<string, string>): Promise<JsonResponse> {
    const headers = extraHeaders ? { ...this.jsonHeaders, ...extraHeaders } : this.jsonHeaders;
    const response = await this.pool.request({ method: 'POST', path, headers, body });
    return { status: response.statusCode, body: parseBody(await response.body.text()) };
  }

  async get(path: string): Promise<JsonResponse> {
    const response = await this.pool.request({ method: 'GET', path, headers: this.jsonHeaders });
    return { status: response.statusCode, body: parseBody(await response.body.text()) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function parseBody(text: string): Record<string, unknown> | undefined {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The problem `code` of an error response body, if it has one. */
export function problemCode(response: JsonResponse): string | undefined {
  if (response.status < 400) return undefined;
  const code = response.body?.code;
  return typeof code === 'string' ? code : `http-${response.status}`;
}
