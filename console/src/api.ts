/**
 * The console's one API client, made once from the generated OpenAPI types (@stampede/client),
 * and its TanStack Query bindings (openapi-react-query). A 401 ends the session.
 */
import { createStampedeClient, isProblem, type Problem } from '@stampede/client';
import { QueryClient, useInfiniteQuery } from '@tanstack/react-query';
import createQueryHooks from 'openapi-react-query';
import { session } from './session';

export const client = createStampedeClient(window.location.origin, () => session.get()?.token);
client.use({
  onResponse({ response }) {
    if (response.status === 401 && session.get()) session.end();
  },
});

export const $api = createQueryHooks(client);

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

/**
 * Keyset pages of a list endpoint (`{items, nextCursor}`), cached under `['get', path]` so a
 * mutation invalidates them by path. `fetchPage` reads the page after `cursor` (none: the first).
 */
export function useKeysetPages<T extends { nextCursor?: string | null }>(
  path: string,
  fetchPage: (cursor: string | undefined) => Promise<{ data?: T; error?: unknown }>,
) {
  return useInfiniteQuery({
    queryKey: ['get', path],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const { data, error } = await fetchPage(pageParam);
      if (error || !data) throw error;
      return data;
    },
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
}
