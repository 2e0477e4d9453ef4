/** The one place a non-field error of a screen shows: a `role="alert"` banner. */
import { Alert } from '@mantine/core';
import { errorMessage } from '../api';

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Alert color="red" role="alert" title="The request failed">
      {errorMessage(error)}
    </Alert>
  );
}
