/**
 * The live view of a campaign: one stream of frames (live-stream.ts) opened when the view mounts
 * and closed when it unmounts; the last {@link POINTS} seconds kept in a fixed-size ring buffer
 * and drawn by uPlot (https://github.com/leeoniya/uPlot); the headline figures in an aria-live
 * region so screen readers hear them change.
 */
import { Alert, Paper, SimpleGrid, Stack } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { errorMessage } from '../../api';
import { Figure } from '../../components/Figure';
import { formatDate } from '../../format';
import { followLive, type LiveFrame } from './live-stream';

/** Seconds of history on the chart. */
const POINTS = 120;

const SERIES = [
  { label: 'issued/s', stroke: '#2f9e44', pick: (f: LiveFrame) => f.claimsPerSecond.issued },
  { label: 'sold out/s', stroke: '#e03131', pick: (f: LiveFrame) => f.claimsPerSecond.soldOut },
  { label: 'already claimed/s', stroke: '#f08c00', pick: (f: LiveFrame) => f.claimsPerSecond.alreadyClaimed },
  { label: 'rate limited/s', stroke: '#7048e8', pick: (f: LiveFrame) => f.claimsPerSecond.rateLimited },
  { label: 'redemptions/s', stroke: '#1971c2', pick: (f: LiveFrame) => f.redemptionsPerSecond },
];

/** A ring buffer of the last POINTS frames, as uPlot's column arrays (time first). */
class Ring {
  private frames: LiveFrame[] = [];
  push(frame: LiveFrame) {
    this.frames.push(frame);
    if (this.frames.length > POINTS) this.frames.shift();
  }
  columns(): uPlot.AlignedData {
    return [
      this.frames.map((f) => new Date(f.at).getTime() / 1000),
      ...SERIES.map((series) => this.frames.map(series.pick)),
    ];
  }
}

export function LiveView({ campaignId }: { campaignId: string }) {
  const [frame, setFrame] = useState<LiveFrame>();
  const [error, setError] = useState<unknown>();
  const chartEl = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const ring = new Ring();
    const plot = new uPlot(
      {
        width: chartEl.current?.clientWidth || 600,
        height: 220,
        series: [{}, ...SERIES.map(({ label, stroke }) => ({ label, stroke, width: 2 }))],
        axes: [{}, { label: 'per second' }],
      },
      ring.columns(),
      chartEl.current!,
    );
    const controller = new AbortController();
    void followLive(
      campaignId,
      controller.signal,
      (next) => {
        setError(undefined);
        setFrame(next);
        ring.push(next);
        plot.setData(ring.columns());
      },
      setError,
    );
    return () => {
      controller.abort();
      plot.destroy();
    };
  }, [campaignId]);

  return (
    <Stack>
      {error ? (
        <Alert color="orange" role="alert" title="Live view reconnecting">
          {errorMessage(error)}
        </Alert>
      ) : null}
      <section aria-live="polite" aria-label="Live figures">
        <SimpleGrid cols={{ base: 2, sm: 4 }}>
          <Figure label="Issued" value={frame?.issuedCount} />
          <Figure label="Remaining" value={frame?.remaining} />
          <Figure label="Claims issued" value={frame?.claims.issued} />
          <Figure label="Refused: sold out" value={frame?.claims.soldOut} />
          <Figure label="Refused: already claimed" value={frame?.claims.alreadyClaimed} />
          <Figure label="Refused: rate limited" value={frame?.claims.rateLimited} />
          <Figure label="Sold out at" value={frame ? formatDate(frame.soldOutAt) : undefined} />
          <Figure label="Gate backlog" value={frame ? (frame.streamBacklog ?? 'n/a') : undefined} />
        </SimpleGrid>
      </section>
      <Paper withBorder p="sm">
        <div ref={chartEl} role="img" aria-label="Claims and redemptions per second, last two minutes" />
      </Paper>
    </Stack>
  );
}
