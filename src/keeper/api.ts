/**
 * One call to a platform's API for the keeper: JSON in and out, bounded in time, with the
 * platform's rate limits honoured (429 with Retry-After, or Telegram's `parameters.retry_after`,
 * waited once when it is short) and a failure returned as a value. The token travels in the URL
 * (Telegram) or a header, and is never part of what a failure says.
 */
import { messageOf } from '../errors';

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

class ApiError extends Error {
  constructor(
    message: string,
    /** 0: no answer; else the last status. */
    readonly status: number,
    /** Asked to wait this long before the next call (ms), when the API said so. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** A 429 asking for at most this long is waited for and the call made again once (ms, default 10 s). */
  readonly maxWaitMs?: number;
  /** Each try's time limit (ms, default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * Calls `url`; `what` names the call in errors ("GET /webhooks"), without the token. A 2xx
 * answers; anything else throws an ApiError.
 */
export async function callApi(url: string, what: string, options: CallOptions = {}): Promise<ApiAnswer> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: options.method ?? 'GET',
        headers: { accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ApiError(`${what}: no answer (${messageOf(err)})`, 0);
    }
    const text = await res.text().catch(() => '');
    const body = parseJson(text);
    if (res.ok) return { status: res.status, body, headers: res.headers };
    const waitMs = retryAfterMs(res, body);
    if (res.status === 429 && attempt === 1 && waitMs !== undefined && waitMs <= (options.maxWaitMs ?? 10_000)) {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      continue;
    }
    throw new ApiError(`${what} answered ${res.status}${describe(body)}`, res.status, waitMs);
  }
}

/** A failed check's words (never a token), and how long the API asked to be left alone, if it did. */
export function failureOf(err: unknown): { detail: string; retryAfterMs: number | undefined } {
  if (err instanceof ApiError) return { detail: err.message, retryAfterMs: err.retryAfterMs };
  return { detail: `the check failed: ${messageOf(err)}`, retryAfterMs: undefined };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After in seconds (or an HTTP date), or Telegram's parameters.retry_after. */
function retryAfterMs(res: Response, body: unknown): number | undefined {
  const header = res.headers.get('retry-after');
  if (header !== null) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  const telegram = field(field(body, 'parameters'), 'retry_after');
  return typeof telegram === 'number' ? telegram * 1000 : undefined;
}

/** What the API said about the failure (Webex's and GitHub's `message`, Telegram's `description`), briefly. */
function describe(body: unknown): string {
  const said = field(body, 'message') ?? field(body, 'description');
  return typeof said === 'string' ? ` (${said.slice(0, 200)})` : '';
}

/** A field of a JSON object, or undefined. */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined;
}
