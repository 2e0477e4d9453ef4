/**
 * The console's one API client, made once from the generated OpenAPI types (@stampede/client),
 * and its TanStack Query bindings (openapi-react-query). The access token is refreshed shortly
 * before it expires (at `refreshAt`, or at once when a reload finds it past); a 401 ends the session.
 */
import { createStampedeClient, isProblem, type Problem } from '@stampede/client';
import { QueryClient } from '@tanstack/react-query';
import createQueryHooks from 'openapi-react-query';
import { type Session, session, startSessionFrom } from './session';

export const client = createStampedeClient(window.location.origin, () => session.get()?.token);
client.use({
  onResponse({ request, response }) {
    const current = session.get();
    if (response.status !== 401 || !current || request.url.endsWith('/v1/auth/refresh')) return;
    // An access token past its refresh time (a laptop waking up before its timer fires) is
    // renewed; any other 401 means the session was taken back.
    if (Date.now() >= current.refreshAt) void refreshSession(current);
    else session.end();
  },
});

export const $api = createQueryHooks(client);

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let scheduledFor: Session | undefined;

/** Wait before trying a refresh again after a network error or an overloaded server, ms. */
const REFRESH_RETRY_MS = 10_000;
/** The refresh under way, so that a timer and a 401 never present the same token twice. */
let refreshing: Promise<void> | undefined;

/**
 * Exchanges the session's refresh token for the next pair. The API's refusal (401) ends the
 * session; a network error or a 5xx/429 leaves it and tries again in {@link REFRESH_RETRY_MS}.
 */
function refreshSession(current: Session): Promise<void> {
  refreshing ??= (async () => {
    const { data, response } = await client
      .POST('/v1/auth/refresh', { body: { refreshToken: current.refreshToken } })
      .catch(() => ({ data: undefined, response: undefined }));
    // Only if nothing replaced the session meanwhile (a sign-out, another sign-in).
    if (session.get() !== current) return;
    if (data) startSessionFrom(data);
    else if (response?.status === 401 || response?.status === 400) session.end();
    else {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => void refreshSession(current), REFRESH_RETRY_MS);
    }
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** Keeps one refresh scheduled for the current session. */
function scheduleRefresh(): void {
  const current = session.get();
  if (current === scheduledFor) return;
  scheduledFor = current;
  clearTimeout(refreshTimer);
  if (!current) return;
  // setTimeout holds at most 2^31 - 1 ms; JWT_TTL_SECONDS is capped at a day, far below.
  const delay = Math.min(2 ** 31 - 1, Math.max(0, current.refreshAt - Date.now()));
  refreshTimer = setTimeout(() => void refreshSession(current), delay);
}
session.subscribe(scheduleRefresh);
scheduleRefresh();

/** Signs out: revokes the session at the API (its refresh tokens), then forgets it here. */
export async function signOut(): Promise<void> {
  const current = session.get();
  session.end();
  queryClient.clear();
  if (current)
    await client.POST('/v1/auth/logout', { body: { refreshToken: current.refreshToken } }).catch(() => {});
}

export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, staleTime: 2_000 } },
});

/** Field errors of a problem, keyed by field path without the `body/` prefix (e.g. `discount/amount`). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!isProblem(error)) return {};
  const fields: Record<string, string> = {};
  for (const item of error.errors ?? []) fields[item.field.replace(/^body\/?/, '')] ??= item.message;
  return fields;
}

/** A sentence for an error banner. */
export function errorMessage(error: unknown): string {
  if (isProblem(error)) return (error as Problem).detail || (error as Problem).title;
  return error instanceof Error ? error.message : 'Something went wrong';
}
