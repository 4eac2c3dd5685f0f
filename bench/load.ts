/**
 * Load generation: wrk when installed (a Lua script cycling through the bodies), otherwise a
 * small keep-alive Node generator. Both POST each body in turn to /webhook.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Payload } from './payloads';

export interface Measurement {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connection errors, timeouts and non-2xx/3xx answers. */
  readonly errors: number;
}

export interface LoadOptions {
  readonly seconds: number;
  readonly connections: number;
}

const run = promisify(execFile);

export async function measureWithWrk(url: string, payloads: Payload[], options: LoadOptions & { work: string }): Promise<Measurement> {
  const script = join(options.work, 'webhooks.lua');
  writeFileSync(script, wrkScript(payloads));
  const { stdout } = await run('wrk', ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '-s', script, `${url}/webhook`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const m = /BENCH_JSON (\{.*\})/.exec(stdout);
  if (!m) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(m[1]!) as { requests: number; duration_us: number; p50_us: number; p99_us: number; errors: number };
  return {
    requests: r.requests,
    requestsPerSecond: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    errors: r.errors,
  };
}

function wrkScript(payloads: Payload[]): string {
  const bodies = payloads.map((p) => `[==[${p.body}]==]`).join(',\n');
  // One header table per body: its signature headers (any scheme's) and the content type.
  const headerTables = payloads
    .map(
      (p) =>
        `{ ["Content-Type"] = "application/json", ${Object.entries(p.headers)
          .map(([k, v]) => `[ [==[${k}]==] ] = [==[${v}]==]`)
          .join(', ')} }`,
    )
    .join(',\n');
  return `local bodies = {
${bodies}
}
local headers = {
${headerTables}
}
local i = 0
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", nil, headers[i], bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
`;
}

/** A keep-alive generator in this process: `connections` loops posting back to back. */
export async function measureWithNode(url: string, payloads: Payload[], options: LoadOptions): Promise<Measurement> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL('/webhook', url);
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const started = performance.now();

  const one = ({ body, headers: signed }: Payload) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...signed };
      const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) errors++;
          latencies.push(performance.now() - t0);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < deadline) await one(payloads[next++ % payloads.length]!);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { requests: latencies.length, requestsPerSecond: latencies.length / elapsed, p50Ms: pct(50), p99Ms: pct(99), errors };
}
