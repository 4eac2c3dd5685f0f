/**
 * What the keeper asks of each platform it keeps: look at the webhook's registration, put it
 * right when it is not, and say how it stands.
 */

export type KeptPlatformName = 'webex' | 'telegram' | 'github';

/** How a platform's registration stood at its last check, for the page, metrics and logs. */
export interface KeeperReport {
  readonly platform: KeptPlatformName;
  /** ok: as it should be; fixed: it was not, and the keeper put it right; failing: the API call failed. */
  readonly state: 'ok' | 'fixed' | 'failing';
  /** In words, for an operator: what was found and done (never a token). */
  readonly detail: string;
  readonly checkedAt: number;
  /** Figures the platform reports (Telegram's pending updates, GitHub's redeliveries), by name. */
  readonly figures: Readonly<Record<string, number>>;
  /** The last delivery error the platform reports (Telegram's last_error_message). */
  readonly lastError?: string | undefined;
  /** A failing check: the API asked not to be called again before this long (a 429's Retry-After). */
  readonly retryAfterMs?: number | undefined;
  /** What was put right in this check, one line each (an event line each, and a repair counted). */
  readonly changes: readonly string[];
  /** What else is worth an event line (a delivery error the platform reports): nothing was put right. */
  readonly notices?: readonly string[];
}

export interface KeptPlatform {
  readonly name: KeptPlatformName;
  /** One look (and repair); throws only for a bug: API failures are a `failing` report. */
  check(now: number): Promise<KeeperReport>;
}
