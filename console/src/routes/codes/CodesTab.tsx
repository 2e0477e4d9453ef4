/**
 * The codes of a campaign: generate unique codes (POST …/codes: 201 at once up to 10,000, else a
 * job whose progress GET /v1/jobs/{id} reports, shown as a progress bar), export them as CSV
 * (GET …/codes.csv, fetched with the token and saved as a file), and set the shared code.
 */
import { Button, Group, NumberInput, Paper, Progress, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { $api, client, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';

export default function CodesTab({ campaignId }: { campaignId: string }) {
  const path = { params: { path: { id: campaignId } } };
  const [count, setCount] = useState<number | string>(100);
  const [prefix, setPrefix] = useState('');
  const [sharedCode, setSharedCode] = useState('');
  const [jobId, setJobId] = useState<string>();
  const [generated, setGenerated] = useState<number>();
  const [exportError, setExportError] = useState<unknown>();
  const generate = $api.useMutation('post', '/v1/campaigns/{id}/codes', {
    onSuccess: (data) => {
      if ('generated' in data) setGenerated(data.generated);
      else setJobId(data.id);
    },
  });
  const job = $api.useQuery(
    'get',
    '/v1/jobs/{id}',
    { params: { path: { id: jobId ?? '' } } },
    { enabled: !!jobId, refetchInterval: (query) => (query.state.data?.status === 'running' ? 500 : false) },
  );
  const shared = $api.useMutation('put', '/v1/campaigns/{id}/shared-code');
  const errors = fieldErrors(generate.error);
  const sharedErrors = fieldErrors(shared.error);

  const exportCsv = async () => {
    setExportError(undefined);
    const { data, error } = await client.GET('/v1/campaigns/{id}/codes.csv', { ...path, parseAs: 'blob' });
    if (error || !data) return setExportError(error ?? new Error('empty export'));
    const link = document.createElement('a');
    link.href = URL.createObjectURL(data);
    link.download = `codes-${campaignId}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  };

  const running = job.data;
  return (
    <Stack>
      <Paper withBorder p="md">
        <Title order={3} mb="sm">
          Generate codes
        </Title>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setGenerated(undefined);
            setJobId(undefined);
            generate.mutate({ ...path, body: { count: Number(count), ...(prefix ? { prefix } : {}) } });
          }}
          noValidate
        >
          <Group align="flex-end">
            <NumberInput label="How many" value={count} onChange={setCount} error={errors.count} />
            <TextInput
              label="Prefix (optional)"
              value={prefix}
              onChange={(event) => setPrefix(event.currentTarget.value)}
              error={errors.prefix}
            />
            <Button type="submit" loading={generate.isPending}>
              Generate
            </Button>
          </Group>
        </form>
        {generated === undefined ? null : (
          <Text mt="sm" role="status">{`Generated ${generated} codes.`}</Text>
        )}
        {running ? (
          <Stack gap={4} mt="sm">
            <Progress
              value={running.total ? (100 * running.done) / running.total : 0}
              aria-label={`Code generation: ${running.done} of ${running.total}`}
            />
            <Text size="sm" role="status">{`${running.status}: ${running.done} of ${running.total}`}</Text>
          </Stack>
        ) : null}
        {Object.keys(errors).length ? null : <ErrorBanner error={generate.error} />}
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} mb="sm">
          Export
        </Title>
        <Button variant="default" onClick={exportCsv}>
          Download CSV
        </Button>
        <ErrorBanner error={exportError} />
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} mb="sm">
          Shared code
        </Title>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            shared.mutate({ ...path, body: { code: sharedCode } });
          }}
          noValidate
        >
          <Group align="flex-end">
            <TextInput
              label="Shared code"
              value={sharedCode}
              onChange={(event) => setSharedCode(event.currentTarget.value)}
              error={sharedErrors.code}
            />
            <Button type="submit" variant="default" loading={shared.isPending}>
              Set shared code
            </Button>
          </Group>
        </form>
        {shared.data ? <Text mt="sm" role="status">{`Shared code is now ${shared.data.code}.`}</Text> : null}
        {Object.keys(sharedErrors).length ? null : <ErrorBanner error={shared.error} />}
      </Paper>
    </Stack>
  );
}
