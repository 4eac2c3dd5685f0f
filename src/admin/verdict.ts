/**
 * The status page's first line, in words: Healthy, Degraded with each reason, or Not ready with
 * the checks that fail — what an operator asks first ("is it healthy, and if not, why").
 */
import type { RequestOutcome } from '../observe/outcomes';
import type { Check } from './backend';
import type { TrafficSample } from './traffic';

export type VerdictState = 'healthy' | 'degraded' | 'not-ready';

export interface Verdict {
  readonly state: VerdictState;
  readonly reasons: readonly string[];
}

/** Outcomes that mean a webhook was refused or could not be delivered: counted over the last minute. */
const FAILING: Readonly<Partial<Record<RequestOutcome, string>>> = {
  'signature-rejected': 'refused: bad signature',
  'keys-unavailable': 'refused: signing keys unavailable',
  'too-large': 'refused: too large',
  'store-refused': 'refused: the mailbox store is away',
  overloaded: 'refused: overloaded',
  'no-upstream': 'no bot instance available',
  'upstream-unreachable': 'the bot unreachable',
  'upstream-timeout': 'the bot too slow',
  'upstream-failed': 'the bot failed',
  'internal-error': 'internal error',
  'direct-fallback': 'not kept by the mailbox, forwarded directly',
};

export interface VerdictFacts {
  readonly checks: Readonly<Record<string, Check>>;
  readonly upstreams: readonly { readonly url: string; readonly state: string; readonly reason?: string | null }[];
  readonly deadLetters: number | undefined;
  /** Requests by outcome in about the last minute. */
  readonly lastMinute: Readonly<Record<string, number>>;
  /** Mailbox delivery attempts by outcome in about the last minute. */
  readonly lastMinuteDeliveries?: Readonly<Record<string, number>>;
}

export function verdictOf(facts: VerdictFacts): Verdict {
  const failing = Object.entries(facts.checks).filter(([, check]) => !check.ok);
  if (failing.length > 0) return { state: 'not-ready', reasons: failing.map(([name, check]) => `${name}: ${check.detail}`) };
  const reasons: string[] = [];
  for (const [name, check] of Object.entries(facts.checks)) if (check.degraded === true) reasons.push(`${name}: ${check.detail}`);
  for (const upstream of facts.upstreams) if (upstream.state === 'down') reasons.push(`instance ${upstream.url} is down${upstream.reason ? ` (${upstream.reason})` : ''}`);
  if (facts.deadLetters !== undefined && facts.deadLetters > 0) reasons.push(`${facts.deadLetters} dead letter(s) waiting`);
  for (const [outcome, what] of Object.entries(FAILING)) {
    const count = facts.lastMinute[outcome] ?? 0;
    if (count > 0) reasons.push(`${count} webhook(s) in the last minute: ${what}`);
  }
  const retried = facts.lastMinuteDeliveries?.retried ?? 0;
  const dead = facts.lastMinuteDeliveries?.dead ?? 0;
  // The first sign of a bot gone in queued mode: its deliveries are retried.
  if (retried > 0) reasons.push(`${retried} delivery attempt(s) in the last minute not taken by the bot (to be retried)`);
  if (dead > 0) reasons.push(`${dead} webhook(s) given up on in the last minute (dead letters)`);
  return { state: reasons.length === 0 ? 'healthy' : 'degraded', reasons };
}

/** Counts by outcome (requests, or with `family` deliveries) between the newest sample and the one about a minute before it. */
export function lastMinuteOf(samples: readonly TrafficSample[], family: 'outcomes' | 'deliveries' = 'outcomes'): Record<string, number> {
  const newest = samples.at(-1);
  if (newest === undefined) return {};
  const base = [...samples].reverse().find((s) => s.at <= newest.at - 60_000) ?? samples[0]!;
  const counts: Record<string, number> = {};
  for (const [outcome, value] of Object.entries(newest[family])) {
    const delta = value - (base[family][outcome] ?? 0);
    if (delta > 0) counts[outcome] = delta;
  }
  return counts;
}
