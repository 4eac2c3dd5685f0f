/**
 * The status page's script (served as /status.js by the admin listener; compiled by
 * tsconfig.page.json). It polls the admin listener's JSON every 2 s and draws it (the traffic
 * from the listener's own 5-minute history of the counters);
 * the admin token, when asked for, is kept in memory and sent as a bearer header, never in a URL.
 * Written with DOM methods only (no innerHTML), so nothing a key or URL holds is ever markup.
 */
const POLL_MS = 2000;
const HISTORY_MS = 5 * 60_000;

interface Status {
  verdict: { state: 'healthy' | 'degraded' | 'not-ready'; reasons: string[] };
  version: string;
  uptimeSeconds: number;
  ready: boolean;
  mode: string;
  platform: string;
  signatures: string;
  delivery: string;
  listen: string;
  target: string | null;
  upstreams: { url: string; state: 'up' | 'down' | 'unknown'; since: string | null; reason: string | null }[];
  store: { name: string; remote: boolean; state: string; detail: string; keys: number | null } | null;
  queue: { depth: number; inFlight: number; oldestSeconds: number; dead: number } | null;
  keeper: { platform: string; state: 'ok' | 'fixed' | 'failing'; detail: string; checkedAt: string }[] | null;
  token: boolean;
}

interface DeadLetterRow {
  id: string;
  key: string | null;
  path: string;
  attempts: number;
  lastAttempt: string;
  reason: string;
}

/** One sample of the counters: requests by outcome, and the answer-time histogram's buckets. */
interface Sample {
  at: number;
  byOutcome: Map<string, number>;
  /** Mailbox delivery attempts by outcome (delivered, retried, dead). */
  deliveries: Map<string, number>;
  /** The mailbox deliveries' answer-time histogram. */
  deliveryBuckets: Map<number, number>;
  /** Answers and failures by upstream (its id as the status shows it). */
  answeredBy: Map<string, number>;
  failedBy: Map<string, number>;
  buckets: Map<number, number>;
}

let token: string | undefined;
let tokenAccepted = false;
let samples: Sample[] = [];

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no #${id}`);
  return el as T;
}

function text(tag: string, content: string, className?: string): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className !== undefined) el.className = className;
  return el;
}

function row(cells: (string | Node)[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (typeof c === 'string') td.textContent = c;
    else td.append(c);
    tr.append(td);
  }
  return tr;
}

async function getJson<T>(path: string, authorised = false): Promise<{ status: number; body: T | undefined }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authorised && token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, cache: 'no-store' });
  const body = res.headers.get('content-type')?.includes('json') === true ? ((await res.json()) as T) : undefined;
  return { status: res.status, body };
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

function when(iso: string | null): string {
  return iso === null ? 'since start' : `since ${new Date(iso).toLocaleTimeString()}`;
}

/** The admin listener's samples (taken every 2 s, kept 5 min), as the page computes with them. */
function samplesOf(body: {
  samples: {
    at: number;
    outcomes: Record<string, number>;
    deliveries?: Record<string, number>;
    buckets: [number, number][];
    deliveryBuckets?: [number, number][];
    answeredBy?: Record<string, number>;
    failedBy?: Record<string, number>;
  }[];
}): Sample[] {
  return body.samples.map((t) => ({
    at: t.at,
    byOutcome: new Map(Object.entries(t.outcomes)),
    deliveries: new Map(Object.entries(t.deliveries ?? {})),
    buckets: new Map(t.buckets.map(([le, count]) => [le === -1 ? Infinity : le, count])),
    deliveryBuckets: new Map((t.deliveryBuckets ?? []).map(([le, count]) => [le === -1 ? Infinity : le, count])),
    answeredBy: new Map(Object.entries(t.answeredBy ?? {})),
    failedBy: new Map(Object.entries(t.failedBy ?? {})),
  }));
}

const total = (s: Sample) => [...s.byOutcome.values()].reduce((a, b) => a + b, 0);

/** A quantile from the difference of two cumulative histograms (`which` of the samples), as Prometheus estimates it. */
function quantile(q: number, from: Sample, to: Sample, which: 'buckets' | 'deliveryBuckets' = 'buckets'): number | undefined {
  const bounds = [...to[which].keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (to[which].get(b) ?? 0) - (from[which].get(b) ?? 0));
  const all = counts[counts.length - 1] ?? 0;
  if (all <= 0) return undefined;
  const rank = q * all;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] ?? 0) >= rank) {
      const upper = bounds[i] ?? Infinity;
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
      const inBucket = (counts[i] ?? 0) - below;
      return inBucket <= 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
    }
  }
  return undefined;
}

/** The smallest of 1, 2, 5, 10, 20, 50, ... at or above `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value) ?? 10 * power;
}

/** The newest sample, the first within a minute before it, and the seconds between them. */
function lastMinute(): { latest: Sample; minuteAgo: Sample; seconds: number } | undefined {
  const latest = samples[samples.length - 1];
  if (latest === undefined) return undefined;
  const minuteAgo = samples.find((s) => s.at >= latest.at - 60_000) ?? latest;
  return { latest, minuteAgo, seconds: (latest.at - minuteAgo.at) / 1000 };
}

function drawTraffic(): void {
  const minute = lastMinute();
  if (minute === undefined) return;
  const { latest, minuteAgo, seconds } = minute;
  const rate = seconds > 0 ? (total(latest) - total(minuteAgo)) / seconds : 0;
  const p50 = quantile(0.5, minuteAgo, latest);
  const p99 = quantile(0.99, minuteAgo, latest);
  const ms = (v: number | undefined) => (v === undefined ? 'no answers yet' : `${(v * 1000).toFixed(1)} ms`);
  byId('rates').textContent =
    seconds > 0 ? `${rate.toFixed(1)} requests/s over the last ${Math.round(seconds)} s; bot answer time p50 ${ms(p50)}, p99 ${ms(p99)}` : 'Measuring (the proxy samples its counters every 2 s)…';

  // The mailbox: deliveries taken by the bot per second, and what it did not take, in the same minute.
  const delivered = (name: string) => (latest.deliveries.get(name) ?? 0) - (minuteAgo.deliveries.get(name) ?? 0);
  const deliveries = byId('deliveries');
  deliveries.hidden = lastStatus?.delivery !== 'queued';
  deliveries.textContent =
    seconds > 0
      ? `Mailbox: ${(delivered('delivered') / seconds).toFixed(1)} deliveries/s taken by the bot over the last ${Math.round(seconds)} s; ${delivered('retried')} attempt(s) not taken (to be retried), ${delivered('dead')} given up on (dead letters); delivery time p50 ${ms(quantile(0.5, minuteAgo, latest, 'deliveryBuckets'))}, p99 ${ms(quantile(0.99, minuteAgo, latest, 'deliveryBuckets'))}.`
      : 'Mailbox: measuring…';

  const body = byId<HTMLTableSectionElement>('outcomes-body');
  body.replaceChildren();
  for (const [outcome, count] of latest.byOutcome) {
    const delta = count - (minuteAgo.byOutcome.get(outcome) ?? 0);
    if (delta > 0) body.append(row([outcome, String(delta)]));
  }
  if (body.childElementCount === 0) body.append(row(['none', '0']));

  // Requests per second between consecutive scrapes, as a line over the last five minutes.
  const svg = byId('chart');
  // Each point at its time: the right edge is the latest sample, the left one five minutes before.
  const rates: { at: number; rate: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    rates.push({ at: b.at, rate: (total(b) - total(a)) / Math.max(0.001, (b.at - a.at) / 1000) });
  }
  // The y axis's top: the peak rounded up to 1, 2 or 5 times a power of ten, so its label reads plainly.
  const top = niceCeiling(Math.max(1, ...rates.map((r) => r.rate)));
  const left = latest.at - HISTORY_MS;
  const points = rates.map((r) => `${(((r.at - left) / HISTORY_MS) * 300).toFixed(1)},${(58 - (r.rate / top) * 56).toFixed(1)}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.replaceChildren(line);
  const peak = Math.max(0, ...rates.map((r) => r.rate));
  byId('chart-top').textContent = `peak ${peak.toFixed(1)} requests/s`;
  byId('chart-y-top').textContent = `${top} req/s`;
}

const VERDICT_WORDS = { healthy: 'Healthy', degraded: 'Degraded', 'not-ready': 'Not ready' } as const;

function drawStatus(s: Status): void {
  const verdict = byId('verdict');
  verdict.textContent = VERDICT_WORDS[s.verdict.state];
  verdict.className = `verdict verdict-${s.verdict.state}`;
  byId('verdict-reasons').replaceChildren(...s.verdict.reasons.map((reason) => text('li', reason)));
  const where = s.target ?? `${s.upstreams.length} instance(s)`;
  byId('summary').textContent =
    `${s.ready ? 'Ready' : 'NOT READY'} · ${s.mode} mode · platform ${s.platform} · delivery ${s.delivery} · ` +
    `listening on ${s.listen}, forwarding to ${where} · version ${s.version} · up ${duration(s.uptimeSeconds)}`;

  byId('upstreams-section').hidden = s.upstreams.length === 0;
  const ups = byId<HTMLTableSectionElement>('upstreams-body');
  // Each instance's answers per second and failures over the last minute of the traffic history.
  const minute = lastMinute();
  const seconds = minute?.seconds ?? 0;
  const change = (of: 'answeredBy' | 'failedBy', url: string) => (minute?.latest[of].get(url) ?? 0) - (minute?.minuteAgo[of].get(url) ?? 0);
  ups.replaceChildren(
    ...s.upstreams.map((u) =>
      row([u.url, text('span', u.state, `state-${u.state}`), u.reason ?? '', seconds > 0 ? (change('answeredBy', u.url) / seconds).toFixed(1) : '–', String(change('failedBy', u.url)), when(u.since)]),
    ),
  );

  byId('store-section').hidden = s.store === null;
  if (s.store !== null) {
    byId('store').textContent = s.store.remote ? `${s.store.name}: ${s.store.state} (${s.store.detail})` : `${s.store.name}: ${s.store.keys ?? 0} key(s) remembered in this process`;
  }

  byId('queue-section').hidden = s.queue === null;
  if (s.queue !== null) {
    const q = s.queue;
    byId('queue').textContent = `${q.depth} webhook(s) stored (${q.inFlight} being delivered), the oldest waiting ${duration(q.oldestSeconds)}; ${q.dead} dead letter(s)`;
  }

  byId('keeper-section').hidden = s.keeper === null;
  if (s.keeper !== null) {
    const rows = s.keeper.map((k) => row([k.platform, text('span', k.state === 'failing' ? 'failing' : 'registered', k.state === 'failing' ? 'state-down' : 'state-up'), k.detail, when(k.checkedAt)]));
    byId('keeper-body').replaceChildren(...(rows.length > 0 ? rows : [row(['–', 'not checked yet', '', ''])]));
  }

  byId('token-section').hidden = !s.token;
  byId('no-token-note').hidden = s.token;
  byId('lookup-section').hidden = !(s.token && tokenAccepted);
  byId('dead-table').hidden = !(s.token && tokenAccepted && s.queue !== null);
  if (byId('dead-table').hidden) byId('dead-controls').hidden = true;
}

/** Dead letters shown a page at a time; `deadOffset` is the first one shown. */
const DEAD_PAGE = 50;
let deadOffset = 0;
let deadTotal = 0;

async function drawDeadLetters(): Promise<void> {
  const { status, body } = await getJson<{ total: number; items: DeadLetterRow[] }>(`/queue/dead?offset=${deadOffset}&limit=${DEAD_PAGE}`, true);
  const tbody = byId<HTMLTableSectionElement>('dead-body');
  if (status !== 200 || body === undefined) return;
  deadTotal = body.total;
  // Fewer than before (replayed, deleted, dropped): back to the last page that has any.
  if (deadOffset > 0 && deadOffset >= deadTotal) {
    deadOffset = Math.max(0, Math.floor((deadTotal - 1) / DEAD_PAGE) * DEAD_PAGE);
    return drawDeadLetters();
  }
  byId('dead-controls').hidden = false;
  byId('dead-range').textContent = deadTotal === 0 ? 'no dead letters' : `${deadOffset + 1}–${deadOffset + body.items.length} of ${deadTotal}`;
  byId<HTMLButtonElement>('dead-prev').disabled = deadOffset === 0;
  byId<HTMLButtonElement>('dead-next').disabled = deadOffset + DEAD_PAGE >= deadTotal;
  byId<HTMLButtonElement>('replay-all').disabled = deadTotal === 0;
  byId<HTMLButtonElement>('delete-all').disabled = deadTotal === 0;
  tbody.replaceChildren(
    ...body.items.map((d) => {
      const replay = text('button', 'Replay');
      replay.dataset.id = d.id;
      replay.addEventListener('click', () => void act('POST', `/queue/dead/${encodeURIComponent(d.id)}/replay`));
      const remove = text('button', 'Delete');
      remove.addEventListener('click', () => void act('DELETE', `/queue/dead/${encodeURIComponent(d.id)}`));
      const actions = document.createElement('span');
      actions.append(replay, ' ', remove);
      const tr = row([d.id, d.key ?? 'keyless', d.path, String(d.attempts), d.reason, new Date(d.lastAttempt).toLocaleTimeString(), actions]);
      tr.dataset.id = d.id;
      return tr;
    }),
  );
  if (body.items.length === 0) tbody.append(row(['none', '', '', '', '', '', '']));
}

/** Replay all / Delete all: every dead letter, after the operator confirms. */
async function actOnAll(method: 'POST' | 'DELETE'): Promise<void> {
  const what = method === 'POST' ? 'Send every dead letter to the mailbox again' : 'Delete every dead letter for good';
  if (!window.confirm(`${what} (${deadTotal})?`)) return;
  const res = await fetch(method === 'POST' ? '/queue/dead/replay' : '/queue/dead', { method, headers: { authorization: `Bearer ${token ?? ''}` } });
  const body = (res.ok ? await res.json() : undefined) as { replayed?: number; deleted?: number } | undefined;
  byId('queue-action').textContent =
    body === undefined ? `The proxy answered ${res.status}.` : method === 'POST' ? `${body.replayed ?? 0} sent to the mailbox again.` : `${body.deleted ?? 0} deleted.`;
  await refresh();
}

async function act(method: 'POST' | 'DELETE', path: string): Promise<void> {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${token ?? ''}` } });
  byId('queue-action').textContent = res.ok ? (method === 'POST' ? 'Sent to the mailbox again.' : 'Deleted.') : `The proxy answered ${res.status}.`;
  await refresh();
}

async function lookUp(key: string): Promise<void> {
  const out = byId('lookup-result');
  const { status, body } = await getJson<Record<string, unknown>>(`/affinity/${encodeURIComponent(key)}`, true);
  out.replaceChildren();
  if (status !== 200 || body === undefined) {
    out.append(text('p', `The proxy answered ${status}.`, 'error'));
    return;
  }
  const list = document.createElement('dl');
  const add = (term: string, value: string) => list.append(text('dt', term), text('dd', value));
  add('key', key);
  if (typeof body.tag === 'string') add('tag in logs and dead letters', body.tag);
  if (typeof body.upstream === 'string' || body.upstream === null) add('instance', body.upstream ?? 'none available');
  const header = body.header as { name: string; value: string } | undefined;
  if (header !== undefined) add('header sent', `${header.name}: ${header.value}`);
  const cookies = body.cookies as { name: string; value: string; expires: string }[] | undefined;
  if (cookies !== undefined) add('learned cookies', cookies.length === 0 ? 'none' : cookies.map((c) => `${c.name}=${c.value} (until ${new Date(c.expires).toLocaleString()})`).join('; '));
  const queued = body.queued as { id: string; path: string; arrived: string; attempts: number }[] | undefined;
  if (queued !== undefined) {
    const waiting = queued.map((w) => `${w.id} ${w.path}, waiting since ${new Date(w.arrived).toLocaleTimeString()}, ${w.attempts} attempt(s)`);
    add('webhooks waiting in the mailbox', waiting.length === 0 ? 'none' : waiting.join('; '));
  }
  out.append(list);
}

async function checkToken(candidate: string): Promise<void> {
  token = candidate;
  const res = await fetch('/auth', { headers: { authorization: `Bearer ${candidate}` }, cache: 'no-store' });
  tokenAccepted = res.status === 204;
  const state = byId('token-state');
  state.textContent = tokenAccepted ? 'Token accepted.' : `Wrong token: the proxy answered ${res.status}.`;
  state.className = tokenAccepted ? 'ok' : 'error';
  if (!tokenAccepted) token = undefined;
  await refresh();
}

let lastStatus: Status | undefined;

async function refresh(): Promise<void> {
  try {
    const [status, traffic] = await Promise.all([getJson<Status>('/status.json'), getJson<Parameters<typeof samplesOf>[0]>('/status/traffic.json')]);
    // The samples first: the instances' table reads their rates from them.
    if (traffic.body !== undefined) samples = samplesOf(traffic.body);
    if (status.body !== undefined) {
      lastStatus = status.body;
      drawStatus(status.body);
    }
    drawTraffic();
    if (lastStatus?.queue !== null && tokenAccepted) await drawDeadLetters();
    byId('updated').textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${POLL_MS / 1000} s.`;
  } catch (err) {
    byId('updated').textContent = `Could not reach the admin listener (${String(err)}); retrying.`;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  byId('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void checkToken(byId<HTMLInputElement>('token').value);
  });
  byId('lookup-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void lookUp(byId<HTMLInputElement>('key').value);
  });
  const turnPage = (by: number): void => {
    deadOffset = Math.max(0, deadOffset + by);
    void drawDeadLetters();
  };
  byId('dead-prev').addEventListener('click', () => turnPage(-DEAD_PAGE));
  byId('dead-next').addEventListener('click', () => turnPage(DEAD_PAGE));
  byId('replay-all').addEventListener('click', () => void actOnAll('POST'));
  byId('delete-all').addEventListener('click', () => void actOnAll('DELETE'));
  void refresh();
  setInterval(() => void refresh(), POLL_MS);
});

// A module, so these names stay out of the page's globals (it is loaded with type="module").
export {};
