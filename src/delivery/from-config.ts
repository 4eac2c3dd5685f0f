/**
 * The delivery mailbox DELIVERY=queued asks for: the spool, the deliverer over the proxy's own
 * route and strategies, and the pump.
 */
import type { AffinityStrategy } from '../affinity/strategy';
import type { Config } from '../config/types';
import type { ProxyObserver } from '../observe/observer';
import type { Route } from '../route/route';
import type { Clock } from '../core/clock';
import { createDeliverer } from './deliverer';
import { createMailbox, type Mailbox } from './mailbox';
import type { StoreSession } from '../store/backend';
import { logError } from '../log';
import { throttled } from '../throttle';
import { deliverySigner } from '../signing/outgoing';
import { telegramReplies, type BotAnswer } from './telegram-replies';
import type { Sender } from '../upstream/sender';

/** PLATFORM=telegram: a bot's webhook reply to a queued update, made by the proxy (or counted as dropped). */
function repliesFromConfig(config: Config, clock: Clock, observer: ProxyObserver): (answer: BotAnswer) => Promise<void> {
  const report = throttled(logError, 10_000, clock);
  return telegramReplies({
    apiUrl: config.telegramApiUrl,
    token: config.telegramBotToken,
    onReply: (outcome, method, detail) => {
      observer.botReply?.('telegram', outcome);
      if (outcome === 'failed') report(`delivery mailbox: the bot's Telegram reply (${method}) could not be made: ${detail ?? 'no answer'}`);
    },
  });
}

export function mailboxFromConfig(
  config: Config,
  session: StoreSession,
  route: Route,
  strategies: readonly AffinityStrategy[],
  sender: Sender,
  clock: Clock,
  observer: ProxyObserver,
): Mailbox | undefined {
  if (config.delivery !== 'queued') return undefined;
  const deliverer = createDeliverer({
    route,
    strategies,
    sender,
    policy: { minMs: config.queueRetryMinMs, maxMs: config.queueRetryMaxMs, maxAgeMs: config.queueMaxAgeMs },
    holdMs: config.queueHoldMs,
    clock,
    sign: deliverySigner(config),
    // The same histogram as direct forwards: the status page and the dashboard see queued bots too.
    onFailed: (upstream) => observer.upstreamFailed?.(upstream),
    onAnswerTime: (upstream, seconds) => {
      observer.upstreamResponded?.(upstream, seconds);
      observer.deliveryAnswered?.(seconds);
    },
    onAnswer: config.platform === 'telegram' ? repliesFromConfig(config, clock, observer) : undefined,
  });
  // A dead letter is a webhook the bot will not get unless someone acts: the operator hears of it.
  const announceDead = throttled(logError, 10_000, clock);
  return createMailbox({
    spool: session.spool({
      maxBytes: config.queueMaxBytes,
      maxDead: config.deadLetterMax,
      leaseMs: config.queueLeaseMs,
      timeoutMs: config.spoolTimeoutMs,
      ackReplicas: config.queueAckReplicas,
      onReset: (lost) => observer.storeReset?.(lost),
      clock,
    }),
    deliverer,
    concurrency: config.queueConcurrency,
    // A shared spool: work other replicas stored is looked for this often.
    pollMs: Math.min(250, config.queueRetryMinMs),
    leaseMs: config.queueLeaseMs,
    // While no attempt reaches the bot, a probe this often: at most a second's wait once it is back.
    probeMs: Math.min(1000, config.queueRetryMinMs),
    clock,
    onSettled: (record) => {
      if (record.outcome === 'dead') {
        const why = record.error ?? (record.status === undefined ? 'no answer' : `status ${record.status}`);
        announceDead(
          `delivery mailbox: webhook ${record.id} is a dead letter after ${record.attempt} attempt(s) (${why}); GET /queue/dead lists dead letters, POST /queue/dead/<id>/replay sends one again`,
        );
      }
      observer.deliverySettled?.(record);
    },
  });
}
