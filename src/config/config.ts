/**
 * Environment → one frozen, typed Config.
 *
 * Every variable is read in config/ (a store backend reads its own, through the same reader, from
 * the table in store/backends.ts). Bad values are collected, not thrown one by one,
 * so a user fixing a deployment sees every problem at once. The module has no side effects:
 * tests hand `parseConfig` a plain record. (It reads .env.example once, for the near-miss check.)
 * The Config type is in types.ts, which imports no reader: every layer may name it without
 * importing the readers of every other.
 */

import { nearMissWarnings } from './near-miss';
import { knownVariables } from './variables';
import { EnvReader, type ConfigProblem, type Env } from './env-reader';
import type { Config } from './types';
import { readKeeper } from './keeper-section';
import { readAdmin, readAffinity, readLimits, readListener, readOutgoing, readSignatures, readStore, readTarget, readUpstreams, readDelivery, readPlatform, checkAcross } from './sections';

// AFFINITY_COOKIES's default lives with its reader (sections.ts); exported here for callers of the config.
export { DEFAULT_AFFINITY_COOKIES } from './sections';
// For callers that parse: the types, from the modules that hold them (layers below import those).
export type { Env } from './env-reader';
export type { Config } from './types';

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

function formatProblem(p: ConfigProblem): string {
  return `${p.variable}=${JSON.stringify(p.value)} is not valid: expected ${p.expected}`;
}

/** Reads and validates every variable; throws ConfigError listing every problem found. */
export function parseConfig(env: Env): Config {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const read = new EnvReader(env, problems);
  const listener = readListener(read);
  const target = readTarget(read);
  const platform = readPlatform(read);
  const affinity = readAffinity(read, platform.preset);
  const delivery = readDelivery(read);
  const config: Config = {
    ...listener,
    ...target,
    platform: platform.platform,
    ...affinity,
    ...readLimits(read),
    ...readSignatures(read, warnings, platform),
    ...readUpstreams(read, affinity.mode, warnings),
    ...readStore(read),
    ...delivery,
    ...readOutgoing(read, warnings, { platform: platform.platform, delivery: delivery.delivery }),
    ...readAdmin(read),
    ...readKeeper(read),
    accessLog: read.oneOf('ACCESS_LOG', 'off', ['off', 'json'] as const),
    warnings,
  };
  checkAcross(config, read, warnings);
  warnings.push(
    ...nearMissWarnings(
      env,
      knownVariables().map((v) => v.name),
    ),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
