/**
 * The signed-in operator: the API's short-lived access token, its refresh token, role and email,
 * kept in memory and mirrored in sessionStorage. sessionStorage lives as long as the tab (a reload
 * keeps the operator signed in, closing the tab signs out) and is never shared with other tabs or
 * written to disk beyond the browser session, unlike localStorage. A script injected into the page
 * could still read it — the API issues bearer tokens only, no httpOnly cookie — so what a theft is
 * worth is bounded: the access token lives JWT_TTL_SECONDS (15 min), and the refresh token works
 * once (src/auth/refresh-tokens.ts): if a thief uses it, the console's next refresh presents a used
 * token and the API ends the session for both. api.ts refreshes the access token a minute before
 * it expires; signing out revokes the session at the API; a 401 ends it here.
 */
import { useSyncExternalStore } from 'react';

export interface Session {
  token: string;
  email: string;
  role: string;
  /** Epoch ms after which the access token is no longer accepted. */
  expiresAt: number;
  /** Epoch ms at which api.ts exchanges the refresh token: shortly before `expiresAt`. */
  refreshAt: number;
  /** Exchanged at POST /v1/auth/refresh for the next pair; works once. */
  refreshToken: string;
  /** Epoch ms after which the refresh token is no longer accepted: the session's end. */
  refreshExpiresAt: number;
}

const KEY = 'stampede.session';
const listeners = new Set<() => void>();
let current: Session | undefined = read();

function read(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return stored?.refreshToken && stored.refreshExpiresAt > Date.now() ? stored : undefined;
  } catch {
    return undefined;
  }
}

function set(next: Session | undefined): void {
  current = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

export const session = {
  /** The live session, or undefined once signed out or expired. */
  get(): Session | undefined {
    if (current && current.refreshExpiresAt <= Date.now()) set(undefined);
    return current;
  },
  start: (next: Session) => set(next),
  end: () => set(undefined),
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** Starts (or renews) the session of a login or refresh reply (POST /v1/auth/login, /refresh). */
export function startSessionFrom(login: {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: { email: string; role: string };
}): void {
  const now = Date.now();
  const lifetimeMs = login.expiresIn * 1000;
  session.start({
    token: login.accessToken,
    email: login.user.email,
    role: login.user.role,
    expiresAt: now + lifetimeMs,
    // A minute ahead, or a quarter of the lifetime when it is short (JWT_TTL_SECONDS may be 60).
    refreshAt: now + lifetimeMs - Math.min(60_000, lifetimeMs / 4),
    refreshToken: login.refreshToken,
    refreshExpiresAt: now + login.refreshExpiresIn * 1000,
  });
}

/** The current session, re-rendering on sign-in and sign-out. */
export function useSession(): Session | undefined {
  return useSyncExternalStore(session.subscribe, session.get);
}
