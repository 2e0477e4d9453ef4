/**
 * A progress bar for the simulation phases on a terminal (cli-progress). Nothing is drawn when the
 * stream is not a TTY (CI logs, pipes), so `--json` output and logs stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Moves the bar of `phase` to `completed` of `total`; a new phase starts a new bar. */
  update(phase: string, completed: number, total: number): void;
  stop(): void;
}

/** A progress bar on `stream`, or undefined when `stream` is not a TTY. */
export function createProgress(stream: NodeJS.WriteStream): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  let current: string | undefined;
  return {
    update: (phase, completed, total) => {
      if (phase !== current) {
        bar?.stop();
        current = phase;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${phase.padEnd(11)} [{bar}] {value}/{total} {percentage}% | {eta}s left`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      // The bar redraws at most 10 times a second; feeding it every response would only cost the
      // load generator time it shares with the server.
      if ((completed & 63) === 0 || completed === total) bar!.update(completed);
    },
    stop: () => bar?.stop(),
  };
}
