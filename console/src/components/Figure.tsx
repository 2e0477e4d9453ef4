/** One headline figure: a labelled group, so tests and screen readers find it by its name. */
import { Paper, Text } from '@mantine/core';

export function Figure({ label, value }: { label: string; value: string | number | undefined }) {
  return (
    <Paper withBorder p="sm" role="group" aria-label={label}>
      <Text size="xs" aria-hidden>
        {label}
      </Text>
      <Text size="lg" fw={700}>
        {value ?? '…'}
      </Text>
    </Paper>
  );
}
