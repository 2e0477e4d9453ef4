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

type Renewal = Parameters<typeof startSessionFrom>[0];

/**
 * Renewals between tabs of this origin. A duplicated tab starts with a copy of the same
 * sessionStorage, so two tabs may hold one refresh token, which works once: the tab that renews
 * it tells the others (`replaces` → the new pair), and a tab holding the replaced token adopts the
 * renewal instead of presenting the used token (which the API would take as a theft and end the
 * session for both). Refreshes also run one at a time across tabs (Web Locks), so the second tab
 * finds the renewal before it asks.
 */
const renewals =
  typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel('stampede.session');
/** Renewals heard from other tabs, by the refresh token they replaced (few: one per refresh). */
const renewed = new Map<string, Renewal>();
renewals?.addEventListener('message', (event: MessageEvent<{ replaces: string; renewal: Renewal }>) => {
  renewed.set(event.data.replaces, event.data.renewal);
  if (session.get()?.refreshToken === event.data.replaces) startSessionFrom(event.data.renewal);
});
/** How long a refused refresh waits for another tab's renewal of the same token, ms. */
const RENEWAL_WAIT_MS = 1500;
/** How long a tab that waited for the lock gives the holder's renewal message to arrive, ms. */
const RENEWAL_MESSAGE_MS = 300;

/** Runs `task` while holding the tabs' refresh lock, where the browser has Web Locks. */
async function oneTabAtATime(task: (waited: boolean) => Promise<void>): Promise<void> {
  if (!navigator.locks) return task(false);
  const asked = performance.now();
  // `waited`: another tab held the lock, and may have just renewed the token this one holds.
  await navigator.locks.request('stampede.refresh', () => task(performance.now() - asked > 5));
}

/** The renewal another tab made of `refreshToken`, waiting up to `waitMs` for its message. */
async function renewalOf(refreshToken: string, waitMs: number): Promise<Renewal | undefined> {
  for (const until = Date.now() + waitMs; !renewed.has(refreshToken) && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return renewed.get(refreshToken);
}

/**
 * Exchanges the session's refresh token for the next pair (or adopts another tab's renewal of
 * it). The API's refusal (401) ends the session; a network error or a 5xx/429 leaves it and
 * tries again in {@link REFRESH_RETRY_MS}.
 */
function refreshSession(current: Session): Promise<void> {
  refreshing ??= oneTabAtATime(async (waited) => {
    // Only if nothing replaced the session meanwhile (a sign-out, another sign-in, a renewal).
    if (session.get() !== current) return;
    // The lock's holder posts its renewal before letting go; give the message a moment to land.
    const adopted = waited
      ? await renewalOf(current.refreshToken, RENEWAL_MESSAGE_MS)
      : renewed.get(current.refreshToken);
    if (session.get() !== current) return;
    if (adopted) {
      startSessionFrom(adopted);
      return;
    }
    const { data, response } = await client
      .POST('/v1/auth/refresh', { body: { refreshToken: current.refreshToken } })
      .catch(() => ({ data: undefined, response: undefined }));
    if (data) {
      renewals?.postMessage({ replaces: current.refreshToken, renewal: data });
      if (session.get() === current) startSessionFrom(data);
      return;
    }
    if (session.get() !== current) return;
    if (response?.status === 401 || response?.status === 400) {
      // Refused: perhaps another tab renewed this very token a moment ago.
      const late = await renewalOf(current.refreshToken, RENEWAL_WAIT_MS);
      if (session.get() !== current) return;
      if (late) startSessionFrom(late);
      else session.end();
      return;
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refreshSession(current), REFRESH_RETRY_MS);
  }).finally(() => {
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
