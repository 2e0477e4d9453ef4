/**
 * Keyset-paged lists of the API (`{ items, nextCursor }` pages, "Load more"): one TanStack
 * infinite query per list, keyed like openapi-react-query's keys (`['get', path, filters]`) so a
 * mutation invalidates it by `['get', path]`.
 */
import { useInfiniteQuery } from '@tanstack/react-query';

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * The pages of `path` with `filters`, and their items in order. `fetchPage` asks the API for the
 * page after `cursor` (none for the first) and returns openapi-fetch's `{ data, error }`; an error
 * is thrown for the query's `error`.
 */
export function useKeysetPages<T>(
  path: string,
  filters: unknown,
  fetchPage: (cursor: string | undefined) => Promise<{ data?: Page<T>; error?: unknown }>,
  options: { enabled?: boolean } = {},
) {
  const pages = useInfiniteQuery({
    queryKey: ['get', path, filters],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const { data, error } = await fetchPage(pageParam);
      if (error || !data) throw error;
      return data;
    },
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    ...options,
  });
  return { pages, items: (pages.data?.pages ?? []).flatMap((page) => page.items) };
}

/** `{ cursor }` when there is one, for spreading into a page's query. */
export const cursorQuery = (cursor: string | undefined) => (cursor ? { cursor } : {});
