/**
 * CPU time of processes, read from /proc (Linux), for the benchmarks: what a request or a claim
 * costs in CPU hardly depends on the rest of the machine's load, unlike its throughput, so the
 * benchmarks report both.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface ProcessCpu {
  ppid: number;
  /** The command name (`comm`, e.g. `postgres`, `redis-server`, `node`). */
  name: string;
  /** User + system CPU time so far, ms. */
  ms: number;
}

/** Every process's CPU time so far, by pid. */
export function cpuSnapshot(): Map<number, ProcessCpu> {
  const stats = new Map<number, ProcessCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start at field 3.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
        ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
      });
    } catch {
      // the process ended meanwhile
    }
  }
  return stats;
}

/** CPU time used so far by process `root` and its descendants (cluster workers), ms. */
export function treeCpuMs(root: number, snapshot = cpuSnapshot()): number {
  let ms = 0;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    ms += snapshot.get(pid)?.ms ?? 0;
    for (const [child, stat] of snapshot) if (stat.ppid === pid) queue.push(child);
  }
  return ms;
}

/**
 * CPU time spent between two snapshots by the processes named `name`, ms. Processes that
 * started in between count from zero; processes that ended in between are missed (the
 * benchmarks keep their connections, hence their PostgreSQL backends, open across a measurement).
 */
export function cpuSpentByName(
  before: Map<number, ProcessCpu>,
  after: Map<number, ProcessCpu>,
  name: string,
): number {
  let ms = 0;
  for (const [pid, stat] of after) {
    if (stat.name !== name) continue;
    ms += stat.ms - (before.get(pid)?.ms ?? 0);
  }
  return ms;
}
