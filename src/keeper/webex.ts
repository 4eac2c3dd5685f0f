/**
 * Webex: for each wanted resource:event, one webhook of the bot's account must call PUBLIC_URL
 * with our secret, and be active. Missing: created. Inactive (Webex turns a webhook off after
 * repeated failed deliveries, and leaves it off): re-activated. Webhooks that call another
 * address are someone else's, and never touched.
 */
import { callApi, failureOf, field } from './api';
import type { KeeperReport, KeptPlatform } from './platform';

export interface WebexKeeperOptions {
  readonly apiUrl: URL;
  readonly token: string;
  readonly publicUrl: string;
  /** The secret Webex signs with (the first WEBHOOK_SECRET); undefined: none set on the webhook. */
  readonly secret: string | undefined;
  readonly wanted: readonly { readonly resource: string; readonly event: string }[];
  readonly maxWaitMs?: number;
}

interface WebexWebhook {
  readonly id: string;
  readonly name: string;
  readonly targetUrl: string;
  readonly resource: string;
  readonly event: string;
  readonly status: string;
}

export function webexKeeper(options: WebexKeeperOptions): KeptPlatform {
  const base = options.apiUrl.href.replace(/\/+$/, '');
  const call = (path: string, what: string, method: 'GET' | 'POST' | 'PUT' = 'GET', body?: unknown) =>
    callApi(`${base}${path}`, what, { method, headers: { authorization: `Bearer ${options.token}` }, body, ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }) });

  async function check(now: number): Promise<KeeperReport> {
    const changes: string[] = [];
    const report = (state: KeeperReport['state'], detail: string, retryAfterMs?: number): KeeperReport => ({
      platform: 'webex',
      state,
      detail,
      checkedAt: now,
      figures: { webhooks: options.wanted.length },
      changes,
      retryAfterMs,
    });
    try {
      const listed = await call('/webhooks?max=100', 'GET /webhooks');
      const hooks = listOf(field(listed.body, 'items'));
      for (const { resource, event } of options.wanted) {
        const ours = hooks.find((h) => h.resource === resource && h.event === event && sameUrl(h.targetUrl, options.publicUrl));
        const secret = options.secret === undefined ? {} : { secret: options.secret };
        if (ours === undefined) {
          await call('/webhooks', 'POST /webhooks', 'POST', { name: `webhook-affinity ${resource}:${event}`, targetUrl: options.publicUrl, resource, event, ...secret });
          changes.push(`Webex webhook for ${resource}:${event} was missing: created, calling ${options.publicUrl}`);
        } else if (ours.status !== 'active') {
          await call(`/webhooks/${encodeURIComponent(ours.id)}`, 'PUT /webhooks/<id>', 'PUT', { name: ours.name, targetUrl: ours.targetUrl, ...secret, status: 'active' });
          changes.push(`Webex webhook for ${resource}:${event} was ${ours.status} (Webex turns one off after failed deliveries): re-activated`);
        }
      }
      const pairs = options.wanted.map((w) => `${w.resource}:${w.event}`).join(', ');
      return changes.length === 0 ? report('ok', `${pairs}: active, calling ${options.publicUrl}`) : report('fixed', changes.join('; '));
    } catch (err) {
      const { detail, retryAfterMs } = failureOf(err);
      return report('failing', detail, retryAfterMs);
    }
  }

  return { name: 'webex', check };
}

function listOf(items: unknown): WebexWebhook[] {
  if (!Array.isArray(items)) return [];
  return items.flatMap((item) => {
    const text = (name: string) => String(field(item, name) ?? '');
    return text('id') === '' ? [] : [{ id: text('id'), name: text('name'), targetUrl: text('targetUrl'), resource: text('resource'), event: text('event'), status: text('status') }];
  });
}

/** The same address, however written (a trailing slash, the host's case). */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href.replace(/\/+$/, '') === new URL(b).href.replace(/\/+$/, '');
  } catch {
    return false;
  }
}
