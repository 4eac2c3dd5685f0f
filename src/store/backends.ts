/**
 * The store backends by STORE name: the names, each backend's variables and how it opens are
 * all read from here. Adding one is a file beside memory.ts and a line below (postgres.ts was
 * added so: its spool and its connection are files of their own, as Redis's are).
 */
import type { EnvReader } from '../config/env-reader';
import { log } from '../log';
import type { StoreBackend, StoreCommon, StoreInspection, StoreSession } from './backend';
import { memoryBackend } from './memory';
import { postgresBackend } from './postgres';
import { redisBackend } from './redis';
import type { AffinityStore } from './store';

export const STORE_BACKENDS = {
  memory: memoryBackend,
  redis: redisBackend,
  postgres: postgresBackend,
} as const;

export type StoreName = keyof typeof STORE_BACKENDS;

/** STORE when unset: the embedded store, so one command starts the proxy. */
export const DEFAULT_STORE: StoreName = 'memory';
type OptionsOf<N extends StoreName> = (typeof STORE_BACKENDS)[N] extends StoreBackend<infer O> ? O : never;
/** Every backend's options, as read from the environment (all are validated, one is used). */
export type StoreOptions = { readonly [N in StoreName]: OptionsOf<N> };

// The table seen through its element types, so a name and its options stay paired.
const BACKENDS: { readonly [N in StoreName]: StoreBackend<OptionsOf<N>> } = STORE_BACKENDS;

function isStoreName(name: string): name is StoreName {
  return Object.hasOwn(STORE_BACKENDS, name);
}

export const STORE_NAMES: readonly StoreName[] = Object.keys(STORE_BACKENDS).filter(isStoreName);

/** Every backend's options: each backend's variables are checked whichever STORE is chosen. */
export function readStoreOptions(read: EnvReader): StoreOptions {
  // Built name by name from the table; TypeScript cannot pair keys and values in fromEntries.
  return Object.fromEntries(STORE_NAMES.map((name) => [name, BACKENDS[name].readOptions(read)])) as StoreOptions;
}

export function isShared(name: StoreName): boolean {
  return BACKENDS[name].shared;
}

export function describeStore<N extends StoreName>(name: N, options: StoreOptions): string {
  return BACKENDS[name].describe(options[name]);
}

/** For --check: the store as it is now (undefined: this backend is not contacted by --check). */
export function inspectStore<N extends StoreName>(name: N, options: StoreOptions): Promise<StoreInspection> | undefined {
  return BACKENDS[name].inspect?.(options[name]);
}

/** A session with the backend STORE names: its parts (store, spool, delivery ids) share one connection. */
export function connectStore<N extends StoreName>(name: N, options: StoreOptions, common: StoreCommon): StoreSession {
  const session = BACKENDS[name].connect(options[name], common);
  const where = describeStore(name, options);
  let store: AffinityStore | undefined;
  return {
    store() {
      if (store === undefined) {
        store = session.store();
        store.ready().then(
          () => log.store('store ready: %s', where),
          () => {}, // the backend reports its own connection trouble
        );
      }
      return store;
    },
    spool: (spoolCommon) => session.spool(spoolCommon),
    deliveryIds: () => session.deliveryIds(),
    close: () => session.close(),
  };
}

/** How long start-up waits for a networked store before listening without it. */
const CONNECT_PATIENCE_MS = 2000;

/** Gives a store (or a spool) a moment to connect; an unreachable one is reported by its backend, not waited for. */
export async function waitBriefly(store: Pick<AffinityStore, 'ready'>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, CONNECT_PATIENCE_MS)));
  await Promise.race([store.ready().catch(() => {}), patience]);
  clearTimeout(timer);
}
