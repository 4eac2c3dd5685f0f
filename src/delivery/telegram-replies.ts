/**
 * PLATFORM=telegram, DELIVERY=queued: a bot may answer an update with a Bot API call in its
 * answer's body (`{"method":"sendMessage","chat_id":42,"text":"hi"}`: grammY's and Telegraf's
 * webhook replies), which Telegram makes when that is the webhook's answer. Queued, Telegram had
 * its answer already (ours), so the proxy makes the call itself, with TELEGRAM_BOT_TOKEN, before
 * the person's next update is delivered (a reply keeps its place in the conversation).
 */
import { messageOf } from '../errors';

/** A bot's answer to one delivery, as read (bounded) by the deliverer. */
export interface BotAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  /** Undefined when it was larger than the deliverer reads. */
  readonly body: Buffer | undefined;
}

export type ReplyOutcome = 'sent' | 'failed' | 'dropped';

export interface TelegramRepliesOptions {
  readonly apiUrl: URL;
  /** Without it a reply is dropped (and counted). */
  readonly token: string | undefined;
  /** Told how each reply went; `detail` says why one failed (never its content). */
  readonly onReply: (outcome: ReplyOutcome, method: string, detail?: string) => void;
  /** Tries per reply on 5xx, 429 and network errors (default 3). */
  readonly attempts?: number;
  /** A Retry-After (Telegram's retry_after) longer than this fails the reply rather than hold the person's updates (ms, default 10 s). */
  readonly maxWaitMs?: number;
}

/** What the deliverer calls with a delivered update's answer: makes the reply it holds, if any. */
export function telegramReplies(options: TelegramRepliesOptions): (answer: BotAnswer) => Promise<void> {
  return async (answer) => {
    const call = replyIn(answer);
    if (call === undefined) return;
    if (options.token === undefined) {
      options.onReply('dropped', call.method);
      return;
    }
    const failure = await callBotApi(options, options.token, call);
    options.onReply(failure === undefined ? 'sent' : 'failed', call.method, failure);
  };
}

interface ReplyCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** The Bot API call in a 2xx JSON answer, if there is one. */
function replyIn({ status, contentType, body }: BotAnswer): ReplyCall | undefined {
  if (status < 200 || status >= 300 || body === undefined || body.length === 0) return undefined;
  if (contentType !== undefined && !/json/i.test(contentType)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const { method, ...params } = doc as Record<string, unknown>;
  // A method name is letters only: nothing else may reach the URL.
  return typeof method === 'string' && /^[A-Za-z]{1,64}$/.test(method) ? { method, params } : undefined;
}

/** Makes the call; undefined when Telegram took it, else why not. */
async function callBotApi(options: TelegramRepliesOptions, token: string, { method, params }: ReplyCall): Promise<string | undefined> {
  // Joined as text: resolved as a relative URL, "bot123:ABC/..." would read as a scheme.
  const url = `${options.apiUrl.href.replace(/\/+$/, '')}/bot${token}/${method}`;
  const attempts = options.attempts ?? 3;
  let why = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let waitMs = 250 * 2 ** (attempt - 1);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params), signal: AbortSignal.timeout(10_000) });
      const answer = (await res.json().catch(() => ({}))) as { ok?: boolean; description?: string; parameters?: { retry_after?: number } };
      if (res.ok && answer.ok !== false) return undefined;
      why = `${method} answered ${res.status}${answer.description === undefined ? '' : ` (${answer.description})`}`;
      if (res.status < 500 && res.status !== 429) return why;
      if (typeof answer.parameters?.retry_after === 'number') waitMs = answer.parameters.retry_after * 1000;
    } catch (err) {
      why = `${method} failed: ${messageOf(err)}`;
    }
    if (waitMs > (options.maxWaitMs ?? 10_000)) return `${why}; asked to wait ${Math.round(waitMs / 1000)} s`;
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  return why;
}
