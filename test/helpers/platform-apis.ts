/**
 * Stand-ins for the platforms' APIs the keeper calls, on a real port: the documented endpoints
 * and shapes (Webex /v1/webhooks, Telegram getWebhookInfo and setWebhook, GitHub's hook
 * deliveries and redelivery attempts), their answers built from test/fixtures/keeper/, their
 * state changed by what the keeper asks, and every call recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'keeper');

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  readonly at: number;
}

export interface WebexHook {
  id: string;
  name: string;
  targetUrl: string;
  resource: string;
  event: string;
  status: string;
  secret?: string;
}

export interface GitHubDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action?: string | null;
}

export class PlatformApis {
  readonly calls: ApiCall[] = [];
  webhooks: WebexHook[] = [];
  telegram: Record<string, unknown> = {};
  /** GitHub's deliveries, newest first, served 2 per page (so paging is exercised). */
  deliveries: GitHubDelivery[] = [];
  /** Answers this many next calls with this status (an API that fails). */
  failing: { times: number; status: number } = { times: 0, status: 500 };
  /** Answers this many next calls with 429 and this Retry-After (seconds). */
  rateLimit: { times: number; retryAfterS: number } = { times: 0, retryAfterS: 0 };
  /** Answers this many next redelivery requests with 502 (GitHub having a bad moment). */
  attemptsFailing = 0;
  /** Refuses (401) a call whose Authorization this does not accept (a GitHub App's JWT, checked). */
  authorize: (authorization: string | undefined, path: string) => Promise<boolean> = async () => true;
  /** Called for each redelivery asked (GitHub then sends the delivery again). */
  onRedeliver: (delivery: GitHubDelivery) => Promise<void> = async () => {};
  private server: http.Server | undefined;
  private nextId = 1;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const call = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown), at: performance.now() };
        this.calls.push(call);
        void this.answer(call).then(({ status, body, headers }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body === undefined ? '' : JSON.stringify(body));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async answer(call: ApiCall): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    if (!(await this.authorize(call.headers.authorization, call.path))) return { status: 401, body: { message: 'A JSON web token could not be decoded' } };
    if (this.failing.times > 0) {
      this.failing.times--;
      return { status: this.failing.status, body: { message: 'The request requires a valid access token set in the Authorization request header.' } };
    }
    if (this.rateLimit.times > 0) {
      this.rateLimit.times--;
      // Telegram says it in the body too; Webex and GitHub in the header.
      return {
        status: 429,
        body: { ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: this.rateLimit.retryAfterS } },
        headers: { 'retry-after': String(this.rateLimit.retryAfterS) },
      };
    }
    const url = new URL(call.path, 'http://stand-in');
    const body = (call.body ?? {}) as Record<string, unknown>;
    // Webex
    if (url.pathname === '/v1/webhooks' && call.method === 'GET') return { status: 200, body: { items: this.webhooks } };
    if (url.pathname === '/v1/webhooks' && call.method === 'POST') {
      const hook = {
        id: `created-${this.nextId++}`,
        name: String(body.name),
        targetUrl: String(body.targetUrl),
        resource: String(body.resource),
        event: String(body.event),
        status: 'active',
        secret: String(body.secret),
      };
      this.webhooks.push(hook);
      return { status: 200, body: hook };
    }
    const webexId = /^\/v1\/webhooks\/([^/]+)$/.exec(url.pathname)?.[1];
    if (webexId !== undefined && call.method === 'PUT') {
      const hook = this.webhooks.find((h) => h.id === decodeURIComponent(webexId));
      if (hook === undefined) return { status: 404, body: { message: 'The requested resource could not be found.' } };
      Object.assign(hook, { name: body.name, targetUrl: body.targetUrl, status: body.status ?? hook.status, ...(body.secret === undefined ? {} : { secret: body.secret }) });
      return { status: 200, body: hook };
    }
    // Telegram
    const method = /^\/bot[^/]+\/(\w+)$/.exec(url.pathname)?.[1];
    if (method === 'getWebhookInfo') return { status: 200, body: { ok: true, result: this.telegram } };
    if (method === 'setWebhook') {
      Object.assign(this.telegram, { url: body.url, max_connections: body.max_connections, ...(body.allowed_updates === undefined ? {} : { allowed_updates: body.allowed_updates }) });
      return { status: 200, body: { ok: true, result: true, description: 'Webhook was set' } };
    }
    // GitHub
    if (/^\/((repos\/[^/]+|orgs)\/[^/]+\/hooks\/\d+|app\/hook)\/deliveries$/.test(url.pathname)) {
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = this.deliveries.slice(from, from + 2);
      const next = from + 2 < this.deliveries.length ? { link: `<${this.url}${url.pathname}?per_page=100&cursor=${from + 2}>; rel="next"` } : {};
      return { status: 200, body: page, headers: next };
    }
    const attempt = /^\/(?:(?:repos\/[^/]+|orgs)\/[^/]+\/hooks\/\d+|app\/hook)\/deliveries\/(\d+)\/attempts$/.exec(url.pathname)?.[1];
    if (attempt !== undefined && call.method === 'POST') {
      const delivery = this.deliveries.find((d) => String(d.id) === attempt);
      if (delivery === undefined) return { status: 404, body: { message: 'Not Found' } };
      if (this.attemptsFailing > 0) {
        this.attemptsFailing--;
        return { status: 502, body: { message: 'Server Error' } };
      }
      await this.onRedeliver(delivery);
      return { status: 202, body: {} };
    }
    return { status: 404, body: { message: `no stand-in for ${call.method} ${url.pathname}` } };
  }
}
