/**
 * The coupons of a campaign (GET /v1/coupons with the campaign's id): search by user, code,
 * status and issue dates, newest first, in keyset pages ("Load more").
 */

import { Button, Group, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { client, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatDate, TIME_ZONE } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

type Status = 'issued' | 'redeemed' | 'revoked';
interface Filters {
  userId: string;
  code: string;
  status: Status | null;
  issuedFrom: string;
  issuedTo: string;
}
const NONE: Filters = { userId: '', code: '', status: null, issuedFrom: '', issuedTo: '' };
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export default function CouponsTab({ campaignId }: { campaignId: string }) {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const { pages, items: coupons } = useKeysetPages('/v1/coupons', { campaignId, ...filters }, (cursor) => {
    const query = {
      campaignId,
      limit: 50,
      ...(filters.userId ? { userId: filters.userId } : {}),
      ...(filters.code ? { code: filters.code } : {}),
      ...(filters.status ? { status: filters.status } : {}),
      ...(iso(filters.issuedFrom) ? { issuedFrom: iso(filters.issuedFrom) } : {}),
      ...(iso(filters.issuedTo) ? { issuedTo: iso(filters.issuedTo) } : {}),
      ...cursorQuery(cursor),
    };
    return client.GET('/v1/coupons', { params: { query } });
  });
  const errors = fieldErrors(pages.error);
  const text = (key: 'userId' | 'code' | 'issuedFrom' | 'issuedTo') => ({
    value: draft[key],
    onChange: (event: { currentTarget: { value: string } }) => {
      const value = event.currentTarget.value;
      setDraft((state) => ({ ...state, [key]: value }));
    },
  });
  return (
    <Stack>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <Group align="flex-end">
          <TextInput label="User" {...text('userId')} error={errors['querystring/userId']} />
          <TextInput label="Code" {...text('code')} error={errors['querystring/code']} />
          <Select
            label="Coupon status"
            placeholder="Any"
            clearable
            data={['issued', 'redeemed', 'revoked']}
            value={draft.status}
            onChange={(value) => setDraft((state) => ({ ...state, status: value as Status | null }))}
          />
          <TextInput label={`Issued from (${TIME_ZONE})`} type="datetime-local" {...text('issuedFrom')} />
          <TextInput label={`Issued to (${TIME_ZONE})`} type="datetime-local" {...text('issuedTo')} />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      <ErrorBanner error={pages.error} />
      <Table striped aria-label="Coupons">
        <HeaderRow columns={['Coupon', 'User', 'Code', 'Status', 'Issued', 'Redeemed']} />
        <Table.Tbody>
          {coupons.map((coupon) => (
            <Table.Tr key={coupon.id}>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {coupon.id}
                </Text>
              </Table.Td>
              <Table.Td>{coupon.userId ?? '—'}</Table.Td>
              <Table.Td>{coupon.code ?? '—'}</Table.Td>
              <Table.Td>{coupon.status}</Table.Td>
              <Table.Td>{formatDate(coupon.issuedAt)}</Table.Td>
              <Table.Td>{formatDate(coupon.redeemedAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={coupons.length === 0} emptyText="No coupons match." />
    </Stack>
  );
}
