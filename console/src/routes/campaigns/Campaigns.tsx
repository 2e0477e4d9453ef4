/**
 * The campaign list: status, claim window, issued/stock as a progress bar, completed redemptions;
 * filter by status (the API's `status` query) and search by part of the name (the API's `q`,
 * sent once typing pauses), keyset "Load more", and the way to create one.
 */
import {
  Anchor,
  Badge,
  Button,
  Group,
  Progress,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useState } from 'react';
import { Link } from 'wouter';
import { client, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatWindow, STATUS_COLORS } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

type Status = 'draft' | 'active' | 'suspended' | 'ended';
const STATUSES: Status[] = ['draft', 'active', 'suspended', 'ended'];

export function Campaigns() {
  const [status, setStatus] = useState<Status | null>(null);
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 300);
  const { pages, items: campaigns } = useKeysetPages('/v1/campaigns', { status, q }, (cursor) =>
    client.GET('/v1/campaigns', {
      params: {
        query: { limit: 50, ...(status ? { status } : {}), ...(q ? { q } : {}), ...cursorQuery(cursor) },
      },
    }),
  );

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Campaigns</Title>
        <Button component={Link} href="/campaigns/new">
          New campaign
        </Button>
      </Group>
      <Group>
        <Select
          label="Status"
          placeholder="Any status"
          clearable
          data={STATUSES}
          value={status}
          onChange={(value) => setStatus(value as Status | null)}
        />
        <TextInput
          label="Search by name"
          type="search"
          value={search}
          error={fieldErrors(pages.error)['querystring/q']}
          onChange={(event) => setSearch(event.currentTarget.value)}
        />
      </Group>
      <ErrorBanner error={pages.error} />
      <Table striped aria-label="Campaigns">
        <HeaderRow columns={['Name', 'Status', 'Claim window', 'Issued / stock', 'Redemptions']} />
        <Table.Tbody>
          {campaigns.map((campaign) => {
            const percent = (100 * campaign.issuedCount) / campaign.totalQuantity;
            return (
              <Table.Tr key={campaign.id}>
                <Table.Td>
                  <Anchor component={Link} href={`/campaigns/${campaign.id}`}>
                    {campaign.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge variant="dot" color={STATUS_COLORS[campaign.status] ?? 'gray'}>
                    {campaign.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{formatWindow(campaign.startsAt, campaign.endsAt)}</Table.Td>
                <Table.Td miw={180}>
                  <Progress
                    value={percent}
                    aria-label={`${campaign.name}: issued ${campaign.issuedCount} of ${campaign.totalQuantity}`}
                  />
                  <Text size="xs">
                    {campaign.issuedCount} / {campaign.totalQuantity}
                  </Text>
                </Table.Td>
                <Table.Td>{campaign.redeemedCount}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={campaigns.length === 0} emptyText="No campaigns match." />
    </Stack>
  );
}
