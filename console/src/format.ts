/** Display helpers: dates in the operator's time zone, amounts in minor units. */
export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An RFC 3339 date-time in the operator's zone, or "—" for none. */
export function formatDate(value: string | null | undefined): string {
  return value ? dateTime.format(new Date(value)) : '—';
}

/** The claim window of a campaign as one line. */
export function formatWindow(startsAt: string | null, endsAt: string | null): string {
  if (!startsAt && !endsAt) return 'always open';
  return `${formatDate(startsAt)} → ${formatDate(endsAt)}`;
}

export const STATUS_COLORS: Record<string, string> = {
  draft: 'gray',
  active: 'green',
  suspended: 'orange',
  ended: 'dark',
};
