/** Below a keyset-paged table: what to say when nothing matched, and the "Load more" button. */
import { Button, Text } from '@mantine/core';

interface Pages {
  isSuccess: boolean;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

export function PageFooter({ pages, empty, emptyText }: { pages: Pages; empty: boolean; emptyText: string }) {
  return (
    <>
      {pages.isSuccess && empty ? <Text>{emptyText}</Text> : null}
      {pages.hasNextPage ? (
        <Button variant="default" loading={pages.isFetchingNextPage} onClick={() => pages.fetchNextPage()}>
          Load more
        </Button>
      ) : null}
    </>
  );
}
