/**
 * The status page (GET / and /status on the admin listener): one HTML page, its stylesheet and
 * its script (page/status.ts, compiled to dist/page/status.js), all served from here: no external
 * asset, and a Content-Security-Policy that allows nothing else.
 */
import type { ServerResponse } from 'node:http';
import { packageFile } from '../package-files';

const CSP = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].join('; ');

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>webhook-affinity status</title>
<link rel="stylesheet" href="/status.css">
<script type="module" src="/status.js"></script>
</head>
<body>
<header>
<h1>webhook-affinity</h1>
<p id="verdict" class="verdict" aria-live="polite">Loading…</p>
<ul id="verdict-reasons"></ul>
<p id="summary">Loading…</p>
</header>
<main>
<section id="token-section" hidden aria-labelledby="token-heading">
<h2 id="token-heading">Admin token</h2>
<form id="token-form"><label for="token">ADMIN_TOKEN</label> <input id="token" type="password" autocomplete="off" required> <button type="submit">Use</button></form>
<p id="token-state" role="status"></p>
</section>
<p id="no-token-note" hidden>ADMIN_TOKEN is not set: key look-up and dead-letter replay are not offered.</p>
<section aria-labelledby="traffic-heading">
<h2 id="traffic-heading">Traffic</h2>
<p id="rates">Measuring…</p>
<p id="deliveries" hidden></p>
<figure>
<div class="chart-area">
<div class="y-axis" aria-hidden="true"><span id="chart-y-top">1 req/s</span><span>0 req/s</span></div>
<svg id="chart" viewBox="0 0 300 60" preserveAspectRatio="none" role="img" aria-label="Requests per second over the last five minutes"></svg>
</div>
<div class="x-axis" aria-hidden="true"><span>5 min ago</span><span>2 min 30 s ago</span><span>now</span></div>
<figcaption>Requests per second, last 5 minutes (<span id="chart-top">no data yet</span>)</figcaption>
</figure>
<table><caption>Requests in the last minute, by outcome</caption>
<thead><tr><th scope="col">outcome</th><th scope="col">requests</th></tr></thead>
<tbody id="outcomes-body"></tbody></table>
</section>
<section id="upstreams-section" hidden aria-labelledby="upstreams-heading">
<h2 id="upstreams-heading">Bot instances</h2>
<table><thead><tr><th scope="col">instance</th><th scope="col">health</th><th scope="col">why</th><th scope="col">answers/s</th><th scope="col">failures, 1 min</th><th scope="col">last change</th></tr></thead>
<tbody id="upstreams-body"></tbody></table>
</section>
<section id="store-section" hidden aria-labelledby="store-heading">
<h2 id="store-heading">Store</h2>
<p id="store"></p>
</section>
<section id="queue-section" hidden aria-labelledby="queue-heading">
<h2 id="queue-heading">Delivery mailbox</h2>
<p id="queue"></p>
<p id="queue-action" role="status"></p>
<p id="dead-controls" hidden><button id="dead-prev" type="button">Previous</button> <span id="dead-range"></span> <button id="dead-next" type="button">Next</button> · <button id="replay-all" type="button">Replay all</button> <button id="delete-all" type="button">Delete all</button></p>
<table id="dead-table" hidden><caption>Dead letters (keys as their tag)</caption>
<thead><tr><th scope="col">id</th><th scope="col">key</th><th scope="col">path</th><th scope="col">attempts</th><th scope="col">reason</th><th scope="col">last attempt</th><th scope="col">actions</th></tr></thead>
<tbody id="dead-body"></tbody></table>
</section>
<section id="keeper-section" hidden aria-labelledby="keeper-heading">
<h2 id="keeper-heading">Webhook registration</h2>
<table><caption>What the keeper found at its last look at each platform</caption>
<thead><tr><th scope="col">Platform</th><th scope="col">State</th><th scope="col">Detail</th><th scope="col">Checked</th></tr></thead>
<tbody id="keeper-body"></tbody></table>
</section>
<section id="lookup-section" hidden aria-labelledby="lookup-heading">
<h2 id="lookup-heading">Look up a key</h2>
<form id="lookup-form"><label for="key">key (an actorId, a user id)</label> <input id="key" autocomplete="off" required> <button type="submit">Look up</button></form>
<div id="lookup-result" role="status"></div>
</section>
</main>
<footer><p id="updated"></p></footer>
</body>
</html>
`;

const CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #8884; overflow-wrap: anywhere; }
figure { margin: 0.5rem 0; }
svg { width: 100%; height: 6rem; border: 1px solid #8884; }
.chart-area { display: flex; gap: 0.3rem; }
.chart-area svg { flex: 1; min-width: 0; }
.y-axis, .x-axis { font-size: 0.75rem; color: #888; font-variant-numeric: tabular-nums; }
.y-axis { display: flex; flex-direction: column; justify-content: space-between; text-align: right; white-space: nowrap; min-width: 4.5rem; }
.x-axis { display: flex; justify-content: space-between; margin-left: 4.8rem; }
polyline { fill: none; stroke: #2a7ae2; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.state-up { color: #1a7f37; font-weight: 600; }
.state-down { color: #c62828; font-weight: 600; }
.state-unknown { color: #888; }
.error { color: #c62828; }
.ok { color: #1a7f37; }
.verdict { font-size: 1.2rem; font-weight: 700; margin: 0.5rem 0 0.2rem; }
.verdict-healthy { color: #1a7f37; }
.verdict-degraded { color: #b25e00; }
.verdict-not-ready { color: #c62828; }
#verdict-reasons { margin: 0 0 0.5rem; padding-left: 1.2rem; }
dt { font-weight: 600; }
dd { margin: 0 0 0.4rem 1rem; overflow-wrap: anywhere; }
button, input { font: inherit; }
footer { color: #888; font-size: 0.85rem; margin-top: 2rem; }
th { overflow-wrap: normal; white-space: nowrap; }
/* A phone: wide tables scroll inside themselves rather than squeezing words or the page. */
@media (max-width: 40rem) {
  body { padding: 0.5rem; }
  table { display: block; overflow-x: auto; }
}
`;

let script: string | undefined;

/** Answers /, /status, /status.css and /status.js; false for any other path. */
export function answerStatusPage(path: string, res: ServerResponse): boolean {
  if (path === '/' || path === '/status') send(res, 'text/html; charset=utf-8', HTML);
  else if (path === '/status.css') send(res, 'text/css; charset=utf-8', CSS);
  else if (path === '/status.js') {
    script ??= packageFile('dist/page/status.js');
    if (script === undefined) send(res, 'text/javascript; charset=utf-8', 'document.getElementById("summary").textContent = "The page script is missing: run npm run build.";', 500);
    else send(res, 'text/javascript; charset=utf-8', script);
  } else return false;
  return true;
}

function send(res: ServerResponse, contentType: string, body: string, status = 200): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(body);
}
