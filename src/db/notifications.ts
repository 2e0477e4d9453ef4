/**
 * PostgreSQL `LISTEN/NOTIFY` (https://www.postgresql.org/docs/current/sql-notify.html) for the
 * caches that every process keeps (campaign admission state, principals' token versions): one
 * pooled connection per channel, re-opened after a loss. On the embedded database there is one
 * serving process, so an in-process broadcast stands in for it.
 *
 * A lost notification is never a correctness problem for the callers: each cache also expires its
 * entries (its TTL bounds the staleness), the notification only makes the update immediate.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Database } from './client.js';

/** Wait before a lost LISTEN connection is opened again, ms. */
const RELISTEN_DELAY_MS = 1000;

export interface NotificationChannel {
  /** Sends `payload` (at most 8,000 bytes, PostgreSQL's limit) to every listener of every process. */
  notify(payload: string): Promise<void>;
  /**
   * Calls `onPayload` for each notification of the channel, from any process (this one included).
   * Resolves once listening. A lost connection is reported to `onError` and re-opened.
   */
  listen(onPayload: (payload: string) => void): Promise<void>;
  /** Stops listening and releases the connection. */
  close(): Promise<void>;
}

/**
 * The channel `name` on `database` (a PostgreSQL pool), or an in-process broadcast on PGlite.
 * @param name an SQL identifier (letters, digits, underscores).
 * @param onError where a lost or failed LISTEN connection is reported.
 */
export function notificationChannel(
  database: Database,
  name: string,
  onError: (error: unknown) => void = () => {},
): NotificationChannel {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a channel name: ${name}`);
  const { pool } = database;
  const local = new EventEmitter();
  let listener: pg.PoolClient | undefined;
  let closed = false;

  /** Listens again after a loss, retrying every RELISTEN_DELAY_MS until it works or the channel closes. */
  const relisten = (onPayload: (payload: string) => void): void => {
    setTimeout(() => {
      listen(onPayload).catch((error: unknown) => {
        onError(error);
        relisten(onPayload);
      });
    }, RELISTEN_DELAY_MS).unref();
  };

  const listen = async (onPayload: (payload: string) => void): Promise<void> => {
    if (!pool || closed) return;
    const client = await pool.connect();
    listener = client;
    client.on('notification', (message) => {
      if (message.channel === name && message.payload !== undefined) onPayload(message.payload);
    });
    // `on`, not `once`: the client stays a pool member after close(), and a later error (the
    // database dropped, the server restarted) must not become an unhandled 'error' event.
    client.on('error', (error) => {
      // Only while it is still this channel's listener: after close() or a first error the client
      // has been released, and releasing it again throws.
      if (listener !== client) return;
      listener = undefined;
      onError(error);
      client.release(true);
      relisten(onPayload);
    });
    try {
      await client.query(`LISTEN ${name}`);
    } catch (error) {
      // Not listening: give the connection back rather than keep it idle forever.
      if (listener === client) {
        listener = undefined;
        client.release(true);
      }
      throw error;
    }
  };

  return {
    async notify(payload) {
      if (pool) await pool.query('SELECT pg_notify($1, $2)', [name, payload]);
      else local.emit('payload', payload);
    },
    async listen(onPayload) {
      if (pool) await listen(onPayload);
      else local.on('payload', onPayload);
    },
    async close() {
      closed = true;
      local.removeAllListeners();
      const client = listener;
      listener = undefined;
      if (client) {
        await client.query(`UNLISTEN ${name}`).catch(() => {});
        client.release();
      }
    },
  };
}
