/**
 * Lua scripts as infrastructure: a feature declares each of its scripts with {@link luaScript}
 * (one `.lua` file per atomic operation, opening with a header that lists KEYS, ARGV and the
 * returns, BullMQ `src/commands/*.lua` style) and calls it through {@link runScript}, so this
 * module knows no feature's scripts.
 *
 * Which feature owns which script: the redis-gate pipeline (src/gate/scripts.ts), the campaign
 * cache (src/campaigns/redis-cache-store.ts) and the mutex (src/redis/mutex.ts).
 *
 * A script runs as `EVALSHA <sha1>`; a server that does not know it yet answers `NOSCRIPT`, and
 * the call is repeated once as `EVAL <source>`, which also caches it there (what ioredis's
 * `defineCommand` does, without defining anything on the connection: a command defined after
 * ioredis opened an auto-pipeline would be missing from it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.js';

/** A Lua script: its name, how many of its arguments are KEYS, its source and the source's SHA-1. */
export interface LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha: string;
}

/**
 * Declares the script `<folder><name>.lua` (read once, at declaration).
 * @param folder the folder URL, e.g. `new URL('./scripts/', import.meta.url)`.
 * @param numberOfKeys how many leading arguments are KEYS (the fixed ones, when the header also
 *   lists a variable range); a test checks it against the header.
 */
export function luaScript(folder: URL, name: string, numberOfKeys: number): LuaScript {
  const source = readFileSync(new URL(`${name}.lua`, folder), 'utf8');
  return { name, numberOfKeys, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Calls `script` with its KEYS followed by its ARGV (as the feature's `*Args` functions build
 * them): EVALSHA, then EVAL once if the server answers NOSCRIPT.
 * @param numberOfKeys how many of `keysAndArgs` are KEYS, for a script whose header declares a
 *   variable number (`KEYS[5..4+N]`); by default the script's fixed count.
 * @throws the script's error reply, or the connection's error.
 */
export async function runScript<T = unknown>(
  client: RedisClient,
  script: LuaScript,
  keysAndArgs: readonly (string | number)[],
  numberOfKeys = script.numberOfKeys,
): Promise<T> {
  try {
    return (await client.evalsha(script.sha, numberOfKeys, ...keysAndArgs)) as T;
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return (await client.eval(script.source, numberOfKeys, ...keysAndArgs)) as T;
  }
}

/** The number of `KEYS[n]` lines of a script's header (what {@link LuaScript.numberOfKeys} must equal). */
export function declaredKeys(script: LuaScript): number {
  return (script.source.match(/^\s*KEYS\[\d+\]/gm) ?? []).length;
}
