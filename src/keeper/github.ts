/**
 * GitHub never sends a failed delivery again by itself; it keeps three days of a hook's
 * deliveries and redelivers one when asked. The keeper pages through the recent deliveries
 * (newest first), finds each delivery (by its X-GitHub-Delivery guid) that failed and was not
 * delivered since, and asks for it once: what was asked is remembered in the store, so replicas
 * agree. A redelivery carries the same guid, so DEDUPE drops it if the bot got it after all.
 */
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { GitHubHook } from '../config/types';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { callApi, failureOf, field } from './api';
import type { KeeperReport, KeptPlatform } from './platform';

export interface GitHubKeeperOptions {
  readonly apiUrl: URL;
  /** A token (a repository's or organisation's hook), or a GitHub App's private key (the App's own webhook). */
  readonly auth: { readonly token: string } | { readonly appPrivateKey: string };
  readonly hook: GitHubHook;
  /** What was asked for, in the store (its delivery ids: shared by replicas): claimed before asking, released when asking failed. */
  readonly asked: Pick<DeliveryIds, 'claim' | 'release'>;
  readonly maxWaitMs?: number;
}

/** How long GitHub keeps deliveries, and so how far back a failure can be asked for again. */
const KEPT_MS = 3 * 24 * 3600 * 1000;
/** Pages of 100 looked at per check, at most. */
const MAX_PAGES = 10;

interface Delivery {
  readonly id: string;
  readonly guid: string;
  readonly at: number;
  readonly failed: boolean;
}

export function githubKeeper(options: GitHubKeeperOptions): KeptPlatform {
  const { hook, auth, asked: remembered } = options;
  const base = `${options.apiUrl.href.replace(/\/+$/, '')}${hookPath(hook)}`;
  const bearer = 'token' in auth ? () => Promise.resolve(auth.token) : appJwt(hook, auth.appPrivateKey);
  const wait = options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs };

  async function recentDeliveries(now: number, headers: Record<string, string>): Promise<Delivery[]> {
    const all: Delivery[] = [];
    let url: string | undefined = `${base}/deliveries?per_page=100`;
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const answer = await callApi(url, 'GET .../hooks/<id>/deliveries', { headers, ...wait });
      const deliveries = Array.isArray(answer.body) ? answer.body.map(deliveryOf) : [];
      all.push(...deliveries.filter((d): d is Delivery => d !== undefined));
      // Newest first: a page reaching past what GitHub keeps is the last one needed.
      if (deliveries.length === 0 || all.some((d) => d.at < now - KEPT_MS)) break;
      url = nextPage(answer.headers.get('link'));
    }
    return all.filter((d) => d.at >= now - KEPT_MS);
  }

  async function check(now: number): Promise<KeeperReport> {
    const changes: string[] = [];
    let asked = 0;
    try {
      const headers = { authorization: `Bearer ${await bearer()}`, 'x-github-api-version': '2022-11-28' };
      const deliveries = await recentDeliveries(now, headers);
      const unrecovered = failedSinceDelivered(deliveries);
      for (const d of unrecovered) {
        const key = `github-redelivery:${d.guid}`;
        if (!(await remembered.claim(key, KEPT_MS))) continue;
        try {
          await callApi(`${base}/deliveries/${encodeURIComponent(d.id)}/attempts`, 'POST .../deliveries/<id>/attempts', { method: 'POST', headers, ...wait });
        } catch (err) {
          // Not asked after all: the next look asks again.
          await Promise.resolve(remembered.release(key)).catch(() => {});
          throw err;
        }
        asked++;
        changes.push(`GitHub delivery ${d.guid} failed and was not delivered since: asked GitHub to deliver it again`);
      }
      const oldest = unrecovered.reduce((min, d) => Math.min(min, d.at), now);
      const figures = { redeliveries_asked: asked, unrecovered: unrecovered.length, oldest_unrecovered_age_seconds: Math.round((now - oldest) / 1000) };
      const detail = `${deliveries.length} deliveries in the last 3 days; ${unrecovered.length} failed and not delivered since; ${asked} redelivery(ies) asked now`;
      return { platform: 'github', state: asked > 0 ? 'fixed' : 'ok', detail, checkedAt: now, figures, changes };
    } catch (err) {
      return { platform: 'github', state: 'failing', ...failureOf(err), checkedAt: now, figures: { redeliveries_asked: asked }, changes };
    }
  }

  return { name: 'github', check };
}

function hookPath(hook: GitHubHook): string {
  if (hook.kind === 'app') return '/app/hook';
  return `${hook.kind === 'repo' ? `/repos/${hook.owner}/${hook.repo}` : `/orgs/${hook.org}`}/hooks/${hook.id}`;
}

/**
 * A GitHub App's own webhook is read with the App's JWT (RS256 over its private key, issued by
 * its id, at most 10 minutes long): one made per check, valid from a minute back for clock skew.
 */
function appJwt(hook: GitHubHook, pem: string): () => Promise<string> {
  const key = createPrivateKey(pem);
  const appId = hook.kind === 'app' ? hook.appId : '';
  return () =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(appId)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 60)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 540)
      .sign(key);
}

/** The newest failed delivery of each guid none of whose deliveries succeeded. */
function failedSinceDelivered(deliveries: readonly Delivery[]): Delivery[] {
  const byGuid = new Map<string, Delivery[]>();
  for (const d of deliveries) byGuid.set(d.guid, [...(byGuid.get(d.guid) ?? []), d]);
  return [...byGuid.values()].flatMap((tries) => (tries.every((t) => t.failed) ? [tries.reduce((a, b) => (b.at > a.at ? b : a))] : []));
}

function deliveryOf(item: unknown): Delivery | undefined {
  const id = field(item, 'id');
  const guid = field(item, 'guid');
  const at = Date.parse(String(field(item, 'delivered_at') ?? ''));
  if ((typeof id !== 'number' && typeof id !== 'string') || typeof guid !== 'string' || !Number.isFinite(at)) return undefined;
  const code = Number(field(item, 'status_code') ?? 0);
  // 0: GitHub got no answer (timeout, refused); 4xx and 5xx: the proxy or the bot refused it.
  return { id: String(id), guid, at, failed: code === 0 || code >= 400 };
}

/** The `rel="next"` URL of a Link header. */
function nextPage(link: string | null): string | undefined {
  return link
    ?.split(',')
    .map((part) => /<([^>]+)>\s*;\s*rel="next"/.exec(part)?.[1])
    .find((url) => url !== undefined);
}
