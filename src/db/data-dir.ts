/**
 * One writer per embedded data directory.
 *
 * PGlite is PostgreSQL in this process's memory: two processes opening one `DATA_DIR` would each
 * write their own view of the files and lose or corrupt data. So the process that opens the
 * directory first holds a lock on it (proper-lockfile: an atomic `mkdir` of `stampede.lock`) and
 * writes who it is to `stampede.holder.json`: `{ pid, command, socket?, startedAt }`. The lock of
 * a process that died — even by `kill -9` — is taken over by the next process, which finds its
 * pid gone.
 *
 * A serving process also opens a socket in the directory (`socket`, see src/db/relay.ts) through
 * which the CLI commands run their SQL on the server's own database while it serves.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/** The lock directory proper-lockfile creates inside DATA_DIR. */
const LOCK_NAME = 'stampede.lock';
/** A second lock, held while a process checks whether the holder died and takes the lock over. */
const TAKEOVER_NAME = 'stampede.takeover.lock';
/** Who holds the lock. */
const HOLDER_NAME = 'stampede.holder.json';
/**
 * proper-lockfile's own staleness (a lock whose mtime was not refreshed for this long), ms. A
 * holder's death is detected by its pid instead (this machine's processes only hold the
 * directory), so this only has to exceed any pause of a live holder's event loop: PGlite's
 * start-up blocks it for seconds.
 */
const STALE_MS = 3_600_000;

/** The process holding a data directory. */
export interface DataDirHolder {
  pid: number;
  /** The command it runs, e.g. `serve` or `codes generate`. */
  command: string;
  /** Path of the socket through which its database is reachable (serving processes only). */
  socket?: string | undefined;
  startedAt: string;
}

/** A held data directory; `release()` gives it up (idempotent). */
export interface DataDirLock {
  dir: string;
  /** Records the socket through which other processes reach the database. */
  advertise(socket: string): void;
  release(): Promise<void>;
}

export type LockAttempt =
  | { locked: true; lock: DataDirLock }
  | { locked: false; holder: DataDirHolder | undefined };

/**
 * Tries once to take the lock on `dir` (which must exist), without waiting. When the recorded
 * holder's process is gone (killed, even by `kill -9`), takes the lock over: under a second lock,
 * so two processes never both take over.
 * @param command what this process runs, shown to the processes that find the lock held.
 * @param onCompromised called if the lock is lost while held (its directory removed); the process
 *   should stop writing.
 * @returns the lock, or the holder found (undefined when the lock names none: it is just being
 *   taken, or its holder died in that instant — then the caller may retry).
 */
export async function tryLockDataDir(
  dir: string,
  command: string,
  onCompromised: (error: Error) => void = () => {},
): Promise<LockAttempt> {
  const lockMain = () =>
    // Each lock is named by its own path: proper-lockfile keeps its locks by that name.
    lockfile.lock(join(dir, LOCK_NAME), {
      lockfilePath: join(dir, LOCK_NAME),
      realpath: false,
      stale: STALE_MS,
      retries: 0,
      onCompromised,
    });
  const holder: DataDirHolder = { pid: process.pid, command, startedAt: new Date().toISOString() };
  let release: () => Promise<void>;
  try {
    release = await lockMain();
    writeHolder(dir, holder);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    const releaseTakeover = await lockfile.lock(join(dir, TAKEOVER_NAME), {
      lockfilePath: join(dir, TAKEOVER_NAME),
      realpath: false,
      stale: 10_000,
      onCompromised: () => {},
      retries: { retries: 50, minTimeout: 50, maxTimeout: 200 },
    });
    try {
      const previous = readHolder(dir);
      if (!previous || processIsAlive(previous.pid)) return { locked: false, holder: previous };
      rmSync(join(dir, LOCK_NAME), { recursive: true, force: true });
      try {
        release = await lockMain();
      } catch (retryError) {
        if ((retryError as { code?: string }).code !== 'ELOCKED') throw retryError;
        return { locked: false, holder: readHolder(dir) };
      }
      // Written before the takeover lock is released, so the next checker sees the new holder.
      writeHolder(dir, holder);
    } finally {
      await releaseTakeover();
    }
  }
  let released = false;
  return {
    locked: true,
    lock: {
      dir,
      advertise: (socket) => writeHolder(dir, { ...holder, socket }),
      release: async () => {
        if (released) return;
        released = true;
        rmSync(join(dir, HOLDER_NAME), { force: true });
        await release().catch(() => {});
      },
    },
  };
}

/** The recorded holder of `dir`, or undefined when none is recorded (or the record is unreadable). */
export function readHolder(dir: string): DataDirHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(join(dir, HOLDER_NAME), 'utf8')) as DataDirHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}

function writeHolder(dir: string, holder: DataDirHolder): void {
  // Readable by the owner only, like the socket it names.
  writeFileSync(join(dir, HOLDER_NAME), `${JSON.stringify(holder)}\n`, { mode: 0o600 });
}

/** True when a process with this pid runs (signal 0 checks without sending anything). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}
