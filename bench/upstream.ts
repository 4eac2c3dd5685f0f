/**
 * The benchmark's upstream: nginx (one worker) when installed, as in the calibration figures,
 * otherwise a Node server in its own process. Both answer {"ok":true} with an AWSALB-style
 * Set-Cookie, so cookie mode learns and replays on every request. nginx's `return` answers before
 * it reads the body: with large bodies (--body) a forwarder that streams would get its answer
 * early and one that sends whole bodies would not, so the Node server, which reads each body to
 * its end first, is used for them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, untilAccepting } from '../test/helpers/net';

export interface BenchUpstream {
  readonly url: string;
  /** Three listeners of the same upstream process: the instances of hash mode. */
  readonly urls: readonly string[];
  readonly kind: 'nginx' | 'node';
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export const AWSALB_COOKIE = 'AWSALB=yLQxR0mE1v9o4a9k3s2xqvO8Zr3m6JwqH0c5dX7nYt2uVbPz8aKfLg4iN1sD6eWjQ+/hU3oTrC9yBmGv5pE2lF7xS0kZ1qAaRz; Expires=Sat, 05 Dec 2099 12:00:00 GMT; Path=/';

export async function startUpstream(work: string, readsBodies = false): Promise<BenchUpstream> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const port = ports[0]!;
  const nginx = !readsBodies && spawnSync('nginx', ['-v']).error === undefined ? 'nginx' : undefined;
  const child = nginx ? startNginx(work, ports) : startNodeUpstream(ports);
  for (const p of ports) await untilAccepting(p, `the ${nginx ?? 'node'} upstream`, () => child.exitCode !== null);
  return {
    url: `http://127.0.0.1:${port}`,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    kind: nginx ? 'nginx' : 'node',
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function startNginx(work: string, ports: number[]): ChildProcess {
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes 1;
daemon off;
master_process off;
error_log stderr error;
pid ${prefix}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  server {
${ports.map((p) => `    listen 127.0.0.1:${p};`).join('\n')}
    client_max_body_size 2m;
    location / {
      add_header Set-Cookie "${AWSALB_COOKIE}" always;
      default_type application/json;
      return 200 '{"ok":true}';
    }
  }
}
`,
  );
  return spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function startNodeUpstream(ports: number[]): ChildProcess {
  const code = `
    const http = require('node:http');
    const answer = (req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('set-cookie', ${JSON.stringify(AWSALB_COOKIE)});
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    };
    // One server per port: a server listens on one.
    for (const p of ${JSON.stringify(ports)}) {
      const s = http.createServer(answer);
      s.keepAliveTimeout = 75000;
      s.listen(p, '127.0.0.1');
    }
    process.on('SIGTERM', () => process.exit(0));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
}
