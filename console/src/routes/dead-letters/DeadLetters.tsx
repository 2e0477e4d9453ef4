/**
 * Dead letters (GET /v1/dead-letters): claims the redis-gate worker could not persist, newest
 * first in keyset pages, optionally of one campaign, with the stable reason, the stored error and
 * the time. Retry (POST /v1/dead-letters/{id}/retry, confirmed first) queues the claim again for
 * the worker; a server without the redis-gate answers `gate-not-configured`, shown as such.
 */

import { Badge, Select, Stack, Table, Text, Title } from '@mantine/core';
import { isProblem } from '@stampede/client';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { $api, client } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatDate } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

/** What a retry problem means for the operator; the API's words otherwise. */
function retryError(error: unknown): unknown {
  if (isProblem(error) && error.code === 'gate-not-configured') {
    return new Error(
      'This server runs no redis-gate (ISSUANCE_STRATEGY=redis-gate with Redis), so it cannot retry dead letters. Retry them from a server that does, or with `stampede dead-letters retry`.',
    );
  }
  return error;
}

export default function DeadLetters() {
  const queryClient = useQueryClient();
  const [campaignId, setCampaignId] = useState<string | null>(null);
  const campaigns = $api.useQuery('get', '/v1/campaigns', { params: { query: { limit: 200 } } });
  const names = new Map((campaigns.data?.items ?? []).map((campaign) => [campaign.id, campaign.name]));
  const { pages, items: letters } = useKeysetPages('/v1/dead-letters', { campaignId }, (cursor) =>
    client.GET('/v1/dead-letters', {
      params: { query: { limit: 50, ...(campaignId ? { campaignId } : {}), ...cursorQuery(cursor) } },
    }),
  );
  const retry = $api.useMutation('post', '/v1/dead-letters/{id}/retry', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/dead-letters'] }),
  });

  return (
    <Stack>
      <Title order={2}>Dead letters</Title>
      <Text size="sm">
        Claims the redis-gate admitted but its worker could not write as coupons. A retry queues the claim
        again; the dead letter then disappears.
      </Text>
      <Select
        label="Campaign"
        placeholder="Any campaign"
        clearable
        searchable
        maw={400}
        data={(campaigns.data?.items ?? []).map((campaign) => ({ value: campaign.id, label: campaign.name }))}
        value={campaignId}
        onChange={setCampaignId}
      />
      <ErrorBanner error={pages.error} />
      <ErrorBanner error={retryError(retry.error)} />
      {retry.isSuccess ? <Text role="status">{`Claim ${retry.data.claimId} queued again.`}</Text> : null}
      <Table striped aria-label="Dead letters">
        <HeaderRow
          columns={['Time', 'Campaign', 'Claim', 'User', 'Reason', 'Error', 'Deliveries', 'Action']}
        />
        <Table.Tbody>
          {letters.map((letter) => (
            <Table.Tr key={letter.id}>
              <Table.Td>{formatDate(letter.createdAt)}</Table.Td>
              <Table.Td>{names.get(letter.campaignId) ?? letter.campaignId}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {letter.claimId ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>{letter.userId ?? '—'}</Table.Td>
              <Table.Td>
                <Badge variant="outline" color="red.9">
                  {letter.reason}
                </Badge>
              </Table.Td>
              <Table.Td maw={360}>
                <Text size="xs" style={{ wordBreak: 'break-word' }}>
                  {letter.error ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>{letter.deliveries}</Table.Td>
              <Table.Td>
                {letter.retryable ? (
                  <ConfirmButton
                    label="Retry"
                    size="xs"
                    variant="default"
                    aria-label={`Retry claim ${letter.claimId}`}
                    question={`Queue claim ${letter.claimId} of user ${letter.userId} again? The worker will try to write its coupon.`}
                    loading={retry.isPending && retry.variables?.params.path.id === letter.id}
                    onConfirm={() =>
                      retry.mutateAsync({ params: { path: { id: letter.id } } }).catch(() => undefined)
                    }
                  />
                ) : (
                  <Text size="xs">not retryable</Text>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={letters.length === 0} emptyText="No dead letters." />
    </Stack>
  );
}
