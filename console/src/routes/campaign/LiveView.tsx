/** Placeholder until the live endpoint lands. */
export function LiveView(_props: { campaignId: string }) {
  return null;
}
