/**
 * The signed-in operator: the API's bearer token, its role and email, kept in memory and mirrored
 * in sessionStorage. sessionStorage lives as long as the tab (a reload keeps the operator signed
 * in, closing the tab signs out) and is never shared with other tabs or written to disk beyond the
 * browser session, unlike localStorage. A script injected into the page could still read it — the
 * API issues bearer tokens only, no httpOnly cookie — so the token's own short lifetime
 * (JWT_TTL_SECONDS) bounds what a theft is worth; it is dropped at its expiry or on any 401.
 */
import { useSyncExternalStore } from 'react';

export interface Session {
  token: string;
  email: string;
  role: string;
  /** Epoch ms after which the token is no longer accepted. */
  expiresAt: number;
}

const KEY = 'stampede.session';
const listeners = new Set<() => void>();
let current: Session | undefined = read();

function read(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return stored && stored.expiresAt > Date.now() ? stored : undefined;
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
    if (current && current.expiresAt <= Date.now()) set(undefined);
    return current;
  },
  start: (next: Session) => set(next),
  end: () => set(undefined),
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** Starts the session of a login reply (POST /v1/auth/login). */
export function startSessionFrom(login: {
  accessToken: string;
  expiresIn: number;
  user: { email: string; role: string };
}): void {
  session.start({
    token: login.accessToken,
    email: login.user.email,
    role: login.user.role,
    expiresAt: Date.now() + login.expiresIn * 1000,
  });
}

/** The current session, re-rendering on sign-in and sign-out. */
export function useSession(): Session | undefined {
  return useSyncExternalStore(session.subscribe, session.get);
}
