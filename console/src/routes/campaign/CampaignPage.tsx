/**
 * One campaign: stock, per-user limit and window; the live view (issued and remaining count, rates); and the operator's actions — Suspend,
 * Resume (or Activate a draft), End, Delete, Restore — through the campaign routes
 * (PATCH /v1/campaigns/{id} with a status, DELETE, POST …/restore). End and Delete confirm first.
 * Each action refreshes what it changed before its button stops spinning.
 */
import { Alert, Badge, Button, Group, Loader, SimpleGrid, Stack, Tabs, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { Link } from 'wouter';
import { $api } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorBanner } from '../../components/ErrorBanner';
import { Figure } from '../../components/Figure';
import { formatWindow, STATUS_COLORS, TIME_ZONE } from '../../format';
import { LiveView } from './LiveView';

const CodesTab = lazy(() => import('../codes/CodesTab'));
const CouponsTab = lazy(() => import('../coupons/CouponsTab'));

export default function CampaignPage({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const [deleted, setDeleted] = useState(false);
  const path = { params: { path: { id } } };
  const campaign = $api.useQuery('get', '/v1/campaigns/{id}', path, { enabled: !deleted });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/campaigns'] });
  const refreshOne = () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/campaigns/{id}'] });
  const change = $api.useMutation('patch', '/v1/campaigns/{id}', {
    onSuccess: () => Promise.all([refresh(), refreshOne()]),
  });
  const remove = $api.useMutation('delete', '/v1/campaigns/{id}', {
    onSuccess: () => {
      setDeleted(true);
      return refresh();
    },
  });
  const restore = $api.useMutation('post', '/v1/campaigns/{id}/restore', {
    onSuccess: () => {
      setDeleted(false);
      return Promise.all([refresh(), refreshOne()]);
    },
  });
  const setStatus = (status: 'active' | 'suspended' | 'ended') =>
    change.mutateAsync({ ...path, body: { status } }).catch(() => undefined);

  if (deleted) {
    return (
      <Stack>
        <Alert color="orange" title="Campaign deleted" role="status">
          It is hidden everywhere and will be archived later; until then it can be restored.
        </Alert>
        <ErrorBanner error={restore.error} />
        <Group>
          <Button loading={restore.isPending} onClick={() => restore.mutate(path)}>
            Restore
          </Button>
          <Button component={Link} href="/" variant="default">
            Back to campaigns
          </Button>
        </Group>
      </Stack>
    );
  }
  if (campaign.error) return <ErrorBanner error={campaign.error} />;
  const data = campaign.data;
  if (!data) return <Text>Loading…</Text>;
  const busy = change.isPending;
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <Badge size="lg" variant="dot" color={STATUS_COLORS[data.status] ?? 'gray'}>
            {data.status}
          </Badge>
        </Group>
        <Group>
          {data.status === 'active' ? (
            <Button variant="default" loading={busy} onClick={() => setStatus('suspended')}>
              Suspend
            </Button>
          ) : null}
          {data.status === 'suspended' || data.status === 'draft' ? (
            <Button loading={busy} onClick={() => setStatus('active')}>
              {data.status === 'draft' ? 'Activate' : 'Resume'}
            </Button>
          ) : null}
          {data.status === 'active' || data.status === 'suspended' ? (
            <ConfirmButton
              label="End"
              color="red.9"
              variant="outline"
              loading={busy}
              question="Ending closes the campaign for good: no more claims. Coupons already issued stay valid."
              onConfirm={() => setStatus('ended')}
            />
          ) : null}
          <Button component={Link} href={`/campaigns/${id}/edit`} variant="default">
            Edit
          </Button>
          <ConfirmButton
            label="Delete"
            color="red.9"
            loading={remove.isPending}
            question="The campaign disappears everywhere; it can be restored until it is archived."
            onConfirm={() => remove.mutateAsync(path).catch(() => undefined)}
          />
        </Group>
      </Group>
      <ErrorBanner error={change.error ?? remove.error} />
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Figure label="Stock" value={data.totalQuantity} />
        <Figure label="Per-user limit" value={data.perUserLimit} />
        <Figure label="Redemptions" value={data.redeemedCount} />
        <Figure label="Discount granted" value={data.redeemedAmount} />
      </SimpleGrid>
      <Text size="sm">{`Claim window: ${formatWindow(data.startsAt, data.endsAt)} (${TIME_ZONE}).`}</Text>
      <Tabs defaultValue="live" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="live">Live</Tabs.Tab>
          <Tabs.Tab value="codes">Codes</Tabs.Tab>
          <Tabs.Tab value="coupons">Coupons</Tabs.Tab>
        </Tabs.List>
        <Suspense fallback={<Loader aria-label="Loading" />}>
          <Tabs.Panel value="live" pt="md">
            <LiveView campaignId={id} />
          </Tabs.Panel>
          <Tabs.Panel value="codes" pt="md">
            <CodesTab campaignId={id} />
          </Tabs.Panel>
          <Tabs.Panel value="coupons" pt="md">
            <CouponsTab campaignId={id} />
          </Tabs.Panel>
        </Suspense>
      </Tabs>
    </Stack>
  );
}
