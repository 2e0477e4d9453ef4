/**
 * Reads the live view's server-sent events (GET /v1/campaigns/{id}/live) through the typed client.
 * Not an EventSource: that cannot send the Authorization header, and a token in the URL would end
 * up in access logs. So the response body is read as a stream and split into events here; a
 * dropped stream is reopened after `retryMs`.
 */
import type { components } from '@stampede/client';
import { client } from '../../api';

export type LiveFrame = components['schemas']['LiveFrame'];

/** Calls `onFrame` for each frame until `signal` aborts; `onError` on each failed connection. */
export async function followLive(
  campaignId: string,
  signal: AbortSignal,
  onFrame: (frame: LiveFrame) => void,
  onError: (error: unknown) => void,
  retryMs = 2000,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const { data, error } = await client.GET('/v1/campaigns/{id}/live', {
        params: { path: { id: campaignId } },
        parseAs: 'stream',
        signal,
      });
      if (error || !data) throw error ?? new Error('the live view sent no stream');
      const reader = data.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let boundary = buffer.indexOf('\n\n');
        while (boundary >= 0) {
          const data = buffer
            .slice(0, boundary)
            .split('\n')
            .find((line) => line.startsWith('data: '));
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          if (data) onFrame(JSON.parse(data.slice(6)) as LiveFrame);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      onError(error);
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
