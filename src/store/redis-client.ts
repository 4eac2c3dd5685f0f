/**
 * The ioredis client every Redis user here opens (the affinity store, the delivery spool).
 *
 * ioredis, because it reconnects by itself, can refuse commands at once while disconnected
 * (enableOfflineQueue: false) and bounds every command (commandTimeout): a sick Redis turns into
 * fast failures (a miss, a direct forward), never into a webhook waiting on it.
 */
import { Redis } from 'ioredis';

export function redisClient(url: string, timeoutMs: number, connectionName: string, onConnectionError?: (err: Error) => void, onBack?: () => void): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs),
    maxRetriesPerRequest: 0,
    // Reconnect forever, backing off to one attempt every 2 s.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    connectionName,
  });
  // Without a listener ioredis prints every connection error itself.
  let lost = false;
  client.on('error', (err: Error) => {
    lost = true;
    onConnectionError?.(err);
  });
  // Said once per outage: the operator heard it was lost, and hears it is back.
  client.on('ready', () => {
    if (lost) onBack?.();
    lost = false;
  });
  return client;
}
