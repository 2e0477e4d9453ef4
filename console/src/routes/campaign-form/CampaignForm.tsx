/**
 * Create a campaign (POST /v1/campaigns) or edit one (PATCH /v1/campaigns/{id}: name, stock,
 * window, status — the other fields are fixed once created). Validation is the API's: its
 * problem+json names each refused field and the message shows beside that field.
 */
import {
  Button,
  Group,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useLocation } from 'wouter';
import { $api, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { TIME_ZONE } from '../../format';

interface FormState {
  name: string;
  status: string;
  totalQuantity: number | string;
  perUserLimit: number | string;
  discountType: 'fixed' | 'percent';
  amount: number | string;
  percent: number | string;
  maxAmount: number | string;
  minOrderAmount: number | string;
  startsAt: string;
  endsAt: string;
  validitySeconds: number | string;
}

const EMPTY: FormState = {
  name: '',
  status: 'draft',
  totalQuantity: 100,
  perUserLimit: 1,
  discountType: 'fixed',
  amount: 1000,
  percent: 10,
  maxAmount: '',
  minOrderAmount: '',
  startsAt: '',
  endsAt: '',
  validitySeconds: 86_400,
};

/** `datetime-local` value (operator's zone) ↔ RFC 3339. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : null);
function toLocal(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
/** A number input's value, or undefined when empty. */
const numberOr = (value: number | string) => (value === '' ? undefined : Number(value));

export default function CampaignForm({ id }: { id?: string }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<FormState>(EMPTY);
  const existing = $api.useQuery(
    'get',
    '/v1/campaigns/{id}',
    { params: { path: { id: id ?? '' } } },
    { enabled: !!id },
  );
  useEffect(() => {
    const campaign = existing.data;
    if (!campaign) return;
    setForm({
      ...EMPTY,
      name: campaign.name,
      status: campaign.status,
      totalQuantity: campaign.totalQuantity,
      perUserLimit: campaign.perUserLimit,
      discountType: campaign.discount.type === 'percent' ? 'percent' : 'fixed',
      amount: campaign.discount.amount ?? '',
      percent: campaign.discount.percent ?? '',
      maxAmount: campaign.discount.maxAmount ?? '',
      minOrderAmount: campaign.minOrderAmount ?? '',
      startsAt: toLocal(campaign.startsAt),
      endsAt: toLocal(campaign.endsAt),
      validitySeconds: campaign.couponValidity?.seconds ?? '',
    });
  }, [existing.data]);

  const done = async (campaign: { id: string }) => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: ['get', '/v1/campaigns'] }),
      queryClient.invalidateQueries({ queryKey: ['get', '/v1/campaigns/{id}'] }),
    ]);
    navigate(`/campaigns/${campaign.id}`);
  };
  const create = $api.useMutation('post', '/v1/campaigns', { onSuccess: done });
  const update = $api.useMutation('patch', '/v1/campaigns/{id}', { onSuccess: done });
  const mutation = id ? update : create;
  const errors = fieldErrors(mutation.error);
  const field = <K extends keyof FormState>(key: K) => ({
    value: form[key],
    onChange: (value: FormState[K]) => setForm((state) => ({ ...state, [key]: value })),
  });
  const text = (key: 'name' | 'startsAt' | 'endsAt') => ({
    value: form[key],
    onChange: (event: { currentTarget: { value: string } }) => {
      const value = event.currentTarget.value; // read now: React clears currentTarget after the event
      setForm((state) => ({ ...state, [key]: value }));
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const window = { startsAt: toIso(form.startsAt), endsAt: toIso(form.endsAt) };
    if (id) {
      update.mutate({
        params: { path: { id } },
        body: {
          name: form.name,
          totalQuantity: numberOr(form.totalQuantity) as number,
          ...window,
        },
      });
      return;
    }
    const maxAmount = numberOr(form.maxAmount);
    const validity = numberOr(form.validitySeconds);
    create.mutate({
      body: {
        name: form.name,
        status: form.status as 'draft' | 'active',
        totalQuantity: numberOr(form.totalQuantity) as number,
        perUserLimit: numberOr(form.perUserLimit) as number,
        discount:
          form.discountType === 'fixed'
            ? { type: 'fixed', amount: numberOr(form.amount) as number }
            : {
                type: 'percent',
                percent: numberOr(form.percent) as number,
                ...(maxAmount === undefined ? {} : { maxAmount }),
              },
        minOrderAmount: numberOr(form.minOrderAmount) ?? null,
        couponValidity: validity === undefined ? null : { seconds: validity },
        ...window,
      },
    });
  };

  const fieldNames = [
    'name',
    'status',
    'totalQuantity',
    'perUserLimit',
    'discount',
    'minOrderAmount',
    'startsAt',
    'endsAt',
    'couponValidity',
  ];
  const unplaced =
    mutation.error && !Object.keys(errors).some((key) => fieldNames.some((name) => key.startsWith(name)));
  const discountError = Object.entries(errors).find(([key]) => key.startsWith('discount'))?.[1];
  if (id && existing.error) return <ErrorBanner error={existing.error} />;
  // The form appears once the campaign is loaded, so nothing typed is overwritten by the load.
  if (id && !existing.data) return <Text>Loading…</Text>;
  return (
    <Stack maw={640}>
      <Title order={2}>{id ? 'Edit campaign' : 'New campaign'}</Title>
      <Paper withBorder p="lg">
        <form onSubmit={submit} noValidate>
          <Stack>
            <TextInput label="Name" {...text('name')} error={errors.name} />
            <Group grow>
              <NumberInput label="Stock" {...field('totalQuantity')} error={errors.totalQuantity} />
              <NumberInput
                label="Per-user limit"
                disabled={!!id}
                {...field('perUserLimit')}
                error={errors.perUserLimit}
              />
            </Group>
            <div>
              <Text size="sm" fw={500} id="discount-type">
                Discount
              </Text>
              <SegmentedControl
                aria-labelledby="discount-type"
                disabled={!!id}
                data={[
                  { value: 'fixed', label: 'Fixed amount' },
                  { value: 'percent', label: 'Percent' },
                ]}
                value={form.discountType}
                onChange={(value) =>
                  setForm((state) => ({ ...state, discountType: value as 'fixed' | 'percent' }))
                }
              />
            </div>
            {form.discountType === 'fixed' ? (
              <NumberInput
                label="Amount off (cents)"
                disabled={!!id}
                {...field('amount')}
                error={errors['discount/amount'] ?? discountError}
              />
            ) : (
              <Group grow>
                <NumberInput
                  label="Percent off"
                  disabled={!!id}
                  {...field('percent')}
                  error={errors['discount/percent'] ?? discountError}
                />
                <NumberInput
                  label="Cap (cents, optional)"
                  disabled={!!id}
                  {...field('maxAmount')}
                  error={errors['discount/maxAmount']}
                />
              </Group>
            )}
            <NumberInput
              label="Minimum order (cents, optional)"
              disabled={!!id}
              {...field('minOrderAmount')}
              error={errors.minOrderAmount}
            />
            <Group grow>
              <TextInput
                label={`Claims open (${TIME_ZONE})`}
                type="datetime-local"
                {...text('startsAt')}
                error={errors.startsAt}
              />
              <TextInput
                label={`Claims close (${TIME_ZONE})`}
                type="datetime-local"
                {...text('endsAt')}
                error={errors.endsAt}
              />
            </Group>
            <NumberInput
              label="Coupon valid for (seconds after issue, empty = no expiry)"
              disabled={!!id}
              {...field('validitySeconds')}
              error={errors['couponValidity/seconds'] ?? errors.couponValidity}
            />
            {id ? null : (
              <Select
                label="Status"
                data={[
                  { value: 'draft', label: 'Draft (hidden from shoppers)' },
                  { value: 'active', label: 'Active' },
                ]}
                value={form.status}
                allowDeselect={false}
                onChange={(value) => setForm((state) => ({ ...state, status: value ?? 'draft' }))}
                error={errors.status}
              />
            )}
            {unplaced ? <ErrorBanner error={mutation.error} /> : null}
            <Group justify="flex-end">
              <Button type="submit" loading={mutation.isPending}>
                {id ? 'Save' : 'Create campaign'}
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
