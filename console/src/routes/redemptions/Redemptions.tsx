/**
 * Redemption look-up (GET /v1/redemptions): by coupon id, generated code or order id, newest first
 * in keyset pages, each with its campaign, amounts and status; a completed one can be rolled back
 * (POST /v1/redemptions/{id}/rollback) after a confirmation. A look-up naming nothing gets the
 * API's field errors on the three inputs; any other problem shows in the banner.
 */

import { Anchor, Badge, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { $api, client, fieldErrors } from '../../api';
import { ConfirmButton } from '../../components/ConfirmButton';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatDate } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

interface Lookup {
  couponId: string;
  code: string;
  orderId: string;
}
type Field = keyof Lookup;
const EMPTY: Lookup = { couponId: '', code: '', orderId: '' };
const FIELDS: [Field, string][] = [
  ['couponId', 'Coupon id'],
  ['code', 'Code'],
  ['orderId', 'Order id'],
];

export default function Redemptions() {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Lookup>(EMPTY);
  // Null until the first search: nothing is asked before the operator names something.
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const { pages, items: redemptions } = useKeysetPages(
    '/v1/redemptions',
    lookup,
    (cursor) => {
      const query = {
        limit: 50,
        ...Object.fromEntries(FIELDS.flatMap(([key]) => (lookup?.[key] ? [[key, lookup[key]]] : []))),
        ...cursorQuery(cursor),
      };
      return client.GET('/v1/redemptions', { params: { query } });
    },
    { enabled: lookup !== null },
  );
  const rollback = $api.useMutation('post', '/v1/redemptions/{id}/rollback', {
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: ['get', '/v1/redemptions'] }),
        queryClient.invalidateQueries({ queryKey: ['get', '/v1/campaigns'] }),
      ]),
  });
  const errors = fieldErrors(pages.error);
  const hasFieldErrors = Object.keys(errors).length > 0;

  return (
    <Stack>
      <Title order={2}>Redemptions</Title>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setLookup({
            couponId: draft.couponId.trim(),
            code: draft.code.trim(),
            orderId: draft.orderId.trim(),
          });
        }}
      >
        <Group align="flex-start">
          {FIELDS.map(([key, label]) => (
            <TextInput
              key={key}
              label={label}
              value={draft[key]}
              error={errors[`querystring/${key}`]}
              onChange={(event) => {
                const value = event.currentTarget.value;
                setDraft((state) => ({ ...state, [key]: value }));
              }}
            />
          ))}
          <Button type="submit" mt={25}>
            Look up
          </Button>
        </Group>
      </form>
      <Text size="sm">
        Give a coupon id, a generated code or an order id. Amounts are in minor currency units.
      </Text>
      {hasFieldErrors ? null : <ErrorBanner error={pages.error} />}
      <ErrorBanner error={rollback.error} />
      <Table striped aria-label="Redemptions">
        <HeaderRow
          columns={[
            'Redeemed',
            'Campaign',
            'Coupon',
            'User',
            'Order',
            'Order amount',
            'Discount',
            'Status',
            'Action',
          ]}
        />
        <Table.Tbody>
          {redemptions.map((redemption) => (
            <Table.Tr key={redemption.id}>
              <Table.Td>{formatDate(redemption.createdAt)}</Table.Td>
              <Table.Td>
                <Anchor component={Link} href={`/campaigns/${redemption.campaignId}`}>
                  {redemption.campaignName}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {redemption.couponId}
                </Text>
                {redemption.couponCode ? <Text size="xs">{redemption.couponCode}</Text> : null}
              </Table.Td>
              <Table.Td>{redemption.userId}</Table.Td>
              <Table.Td>{redemption.orderId}</Table.Td>
              <Table.Td>{redemption.orderAmount}</Table.Td>
              <Table.Td>{redemption.discountAmount}</Table.Td>
              <Table.Td>
                {redemption.status === 'completed' ? (
                  <Badge variant="dot" color="green">
                    redeemed
                  </Badge>
                ) : (
                  <Badge variant="dot" color="gray">
                    {`rolled back ${formatDate(redemption.rolledBackAt)}`}
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>
                {redemption.status === 'completed' ? (
                  <ConfirmButton
                    label="Roll back"
                    size="xs"
                    variant="default"
                    aria-label={`Roll back the redemption of order ${redemption.orderId}`}
                    question={`Roll back the redemption of order ${redemption.orderId}? The coupon becomes redeemable again and the discount returns to the campaign's budget.`}
                    loading={rollback.isPending && rollback.variables?.params.path.id === redemption.id}
                    onConfirm={() =>
                      rollback.mutateAsync({ params: { path: { id: redemption.id } } }).catch(() => undefined)
                    }
                  />
                ) : null}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {lookup ? (
        <PageFooter pages={pages} empty={redemptions.length === 0} emptyText="No redemption matches." />
      ) : null}
    </Stack>
  );
}
