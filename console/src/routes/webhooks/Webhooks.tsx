/**
 * Webhook endpoints (admin): the list (GET /v1/webhooks), a form to create one (POST; its signing
 * secret is shown once, in a status box), and per endpoint Disable / Enable (PATCH), Rotate secret
 * (the new secret shown once; the old one signs 24 h more), Delete, and its deliveries (status,
 * attempts, last answer) with Retry.
 */
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { $api, client, fieldErrors } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatDate } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

const EVENT_TYPES = [
  'campaign.created',
  'campaign.updated',
  'campaign.sold_out',
  'campaign.budget_exhausted',
  'coupon.issued',
  'coupon.redeemed',
  'redemption.rolled_back',
  'codes.generated',
  'claim.dead_lettered',
] as const;
type EventType = (typeof EVENT_TYPES)[number];

export default function Webhooks() {
  const queryClient = useQueryClient();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventType[]>(['coupon.issued']);
  const [secret, setSecret] = useState<{ url: string; secret: string } | undefined>();
  const [opened, setOpened] = useState<{ id: string; url: string } | undefined>();
  const { pages, items: endpoints } = useKeysetPages('/v1/webhooks', {}, (cursor) =>
    client.GET('/v1/webhooks', { params: { query: { limit: 50, ...cursorQuery(cursor) } } }),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/webhooks'] });
  const create = $api.useMutation('post', '/v1/webhooks', {
    onSuccess: (created) => {
      setSecret({ url: created.url, secret: created.secret });
      setUrl('');
      setDescription('');
      return refresh();
    },
  });
  const update = $api.useMutation('patch', '/v1/webhooks/{id}', { onSuccess: refresh });
  const rotate = $api.useMutation('post', '/v1/webhooks/{id}/rotate-secret', {
    onSuccess: (rotated) => {
      setSecret({ url: rotated.url, secret: rotated.secret });
      return refresh();
    },
  });
  const remove = $api.useMutation('delete', '/v1/webhooks/{id}', {
    onSuccess: () => {
      setOpened(undefined);
      return refresh();
    },
  });
  const errors = fieldErrors(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ body: { url, events, ...(description ? { description } : {}) } });
  };

  return (
    <Stack>
      <Title order={2}>Webhooks</Title>
      <form onSubmit={submit} noValidate aria-label="New webhook endpoint">
        <Stack>
          <Group align="flex-start" grow>
            <TextInput
              label="Endpoint URL"
              value={url}
              error={errors.url}
              onChange={(event) => setUrl(event.currentTarget.value)}
            />
            <TextInput
              label="Description"
              value={description}
              error={errors.description}
              onChange={(event) => setDescription(event.currentTarget.value)}
            />
          </Group>
          <Checkbox.Group
            label="Events"
            value={events}
            error={errors.events}
            onChange={(value) => setEvents(value as EventType[])}
          >
            <SimpleGrid cols={3} mt="xs">
              {EVENT_TYPES.map((type) => (
                <Checkbox key={type} value={type} label={type} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create endpoint
            </Button>
          </Group>
        </Stack>
      </form>
      {secret ? (
        <Alert
          role="status"
          title={`Signing secret of ${secret.url}`}
          withCloseButton
          closeButtonLabel="Dismiss the secret"
          onClose={() => setSecret(undefined)}
        >
          <Text size="sm">Copy it now: it is shown only once.</Text>
          <Code block aria-label="Signing secret">
            {secret.secret}
          </Code>
        </Alert>
      ) : null}
      {Object.keys(errors).length ? null : <ErrorBanner error={create.error} />}
      <ErrorBanner error={update.error ?? rotate.error ?? remove.error ?? pages.error} />
      <Table striped aria-label="Webhook endpoints">
        <HeaderRow columns={['URL', 'Events', 'State', 'Created', 'Actions']} />
        <Table.Tbody>
          {endpoints.map((endpoint) => (
            <Table.Tr key={endpoint.id}>
              <Table.Td>
                {endpoint.url}
                {endpoint.description ? (
                  <Text size="xs" c="dimmed">
                    {endpoint.description}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>{endpoint.events.join(', ')}</Table.Td>
              <Table.Td>
                <Badge variant="dot" color={endpoint.enabled ? 'green' : 'gray'}>
                  {endpoint.enabled ? 'enabled' : 'disabled'}
                </Badge>
                {endpoint.disabledReason ? <Text size="xs">{endpoint.disabledReason}</Text> : null}
              </Table.Td>
              <Table.Td>{formatDate(endpoint.createdAt)}</Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <Button
                    variant="default"
                    size="xs"
                    aria-label={`Deliveries of ${endpoint.url}`}
                    onClick={() => setOpened({ id: endpoint.id, url: endpoint.url })}
                  >
                    Deliveries
                  </Button>
                  <Button
                    variant="default"
                    size="xs"
                    aria-label={`${endpoint.enabled ? 'Disable' : 'Enable'} ${endpoint.url}`}
                    onClick={() =>
                      update.mutate({
                        params: { path: { id: endpoint.id } },
                        body: { enabled: !endpoint.enabled },
                      })
                    }
                  >
                    {endpoint.enabled ? 'Disable' : 'Enable'}
                  </Button>
                  <ConfirmButton
                    variant="default"
                    size="xs"
                    label="Rotate secret"
                    aria-label={`Rotate the secret of ${endpoint.url}`}
                    question={`Give ${endpoint.url} a new secret? The current one keeps signing for 24 hours.`}
                    loading={rotate.isPending}
                    onConfirm={() => rotate.mutateAsync({ params: { path: { id: endpoint.id } } })}
                  />
                  <ConfirmButton
                    variant="default"
                    size="xs"
                    color="red.9"
                    label="Delete"
                    aria-label={`Delete ${endpoint.url}`}
                    question={`Delete ${endpoint.url} and its deliveries?`}
                    loading={remove.isPending}
                    onConfirm={() => remove.mutateAsync({ params: { path: { id: endpoint.id } } })}
                  />
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={endpoints.length === 0} emptyText="No webhook endpoints." />
      {opened ? <Deliveries endpoint={opened} /> : null}
    </Stack>
  );
}

/** The deliveries of one endpoint, newest first, with Retry. */
function Deliveries({ endpoint }: { endpoint: { id: string; url: string } }) {
  const queryClient = useQueryClient();
  const deliveries = $api.useQuery('get', '/v1/webhooks/{id}/deliveries', {
    params: { path: { id: endpoint.id }, query: { limit: 50 } },
  });
  const retry = $api.useMutation('post', '/v1/webhooks/{id}/deliveries/{deliveryId}/retry', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/webhooks/{id}/deliveries'] }),
  });
  const items = deliveries.data?.items ?? [];
  return (
    <Stack>
      <Title order={3}>Deliveries of {endpoint.url}</Title>
      <ErrorBanner error={retry.error ?? deliveries.error} />
      <Table striped aria-label={`Deliveries of ${endpoint.url}`}>
        <HeaderRow
          columns={['Event', 'webhook-id', 'Status', 'Attempts', 'Last answer', 'Next attempt', 'Actions']}
        />
        <Table.Tbody>
          {items.map((delivery) => (
            <Table.Tr key={delivery.id}>
              <Table.Td>{delivery.eventType}</Table.Td>
              <Table.Td>
                <Code>{delivery.eventId}</Code>
              </Table.Td>
              <Table.Td>{delivery.status}</Table.Td>
              <Table.Td>{delivery.attempts}</Table.Td>
              <Table.Td>
                {delivery.lastAttemptAt
                  ? `${delivery.lastStatusCode ?? delivery.lastError ?? ''} at ${formatDate(delivery.lastAttemptAt)}`
                  : 'none yet'}
              </Table.Td>
              <Table.Td>{delivery.nextAttemptAt ? formatDate(delivery.nextAttemptAt) : ''}</Table.Td>
              <Table.Td>
                <Button
                  variant="default"
                  size="xs"
                  aria-label={`Retry ${delivery.eventType} ${delivery.eventId}`}
                  loading={retry.isPending}
                  onClick={() =>
                    retry.mutate({ params: { path: { id: endpoint.id, deliveryId: delivery.id } } })
                  }
                >
                  Retry
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {items.length === 0 && !deliveries.isPending ? <Text>No deliveries yet.</Text> : null}
    </Stack>
  );
}
