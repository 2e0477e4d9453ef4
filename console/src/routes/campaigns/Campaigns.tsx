/**
 * The campaign list: status, claim window, issued/stock as a progress bar; filter by status (the
 * API's `status` query), search by name (within the loaded pages: the API has no name search),
 * keyset "Load more", and the way to create one.
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
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { client } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { PageFooter } from '../../components/PageFooter';
import { formatWindow, STATUS_COLORS } from '../../format';

type Status = 'draft' | 'active' | 'suspended' | 'ended';
const STATUSES: Status[] = ['draft', 'active', 'suspended', 'ended'];

export function Campaigns() {
  const [status, setStatus] = useState<Status | null>(null);
  const [search, setSearch] = useState('');
  const pages = useInfiniteQuery({
    queryKey: ['get', '/v1/campaigns', { status }],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const { data, error } = await client.GET('/v1/campaigns', {
        params: {
          query: { limit: 50, ...(status ? { status } : {}), ...(pageParam ? { cursor: pageParam } : {}) },
        },
      });
      if (error) throw error;
      return data;
    },
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const needle = search.trim().toLowerCase();
  const campaigns = (pages.data?.pages ?? [])
    .flatMap((page) => page.items)
    .filter((campaign) => !needle || campaign.name.toLowerCase().includes(needle));

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
          onChange={(event) => setSearch(event.currentTarget.value)}
        />
      </Group>
      <ErrorBanner error={pages.error} />
      <Table striped aria-label="Campaigns">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Claim window</Table.Th>
            <Table.Th>Issued / stock</Table.Th>
          </Table.Tr>
        </Table.Thead>
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
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={campaigns.length === 0} emptyText="No campaigns match." />
    </Stack>
  );
}
