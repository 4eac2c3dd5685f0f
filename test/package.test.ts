/**
 * What the Docker image does, without Docker: pack the project, unpack the tarball into an empty
 * folder, install production dependencies only from the lock file, start `node dist/server.js`
 * from there and forward one webhook. Proves that `files` and the build ship all that is needed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ALICE, fixture, request, startUpstream } from './helpers/http';
import { startServerProcess } from './helpers/process';
import { freePort } from './helpers/net';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

describe('production install', () => {
  it('runs from the packed tarball with production dependencies only', { timeout: 300_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'webhook-affinity-pack-'));
    const upstream = await startUpstream();
    try {
      // dist/ is already built by `npm test`'s pretest; --ignore-scripts keeps pack from rebuilding.
      const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
      const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
      const shipped = files.map((f) => f.path);
      assert.ok(shipped.includes('dist/server.js'));
      assert.ok(shipped.includes('dist/healthcheck.js'), "the image's HEALTHCHECK script");
      assert.ok(!shipped.some((p) => p.startsWith('src/') || p.startsWith('test/')), 'sources and tests are not shipped');

      const app = join(work, 'app');
      mkdirSync(app);
      await run('tar', ['-xzf', join(work, filename), '-C', app, '--strip-components=1']);
      copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
      assert.ok(!existsSync(join(app, 'node_modules', 'typescript')), 'no dev dependency installed');

      const adminPort = await freePort();
      const server = await startServerProcess({ TARGET_URL: upstream.url, ADMIN_PORT: String(adminPort) }, join(app, 'dist', 'server.js'), app);
      const received = upstream.nextRequest();
      const res = await request(server.port, { body: fixture('message-created.json') });
      assert.equal(res.status, 200);
      const got = await received;
      assert.deepEqual(got.body, fixture('message-created.json'));
      assert.equal(got.headers.actorid, ALICE);
      // The status page's script and --help's variables (.env.example) are shipped too.
      const script = await request(adminPort, { method: 'GET', path: '/status.js' });
      assert.equal(script.status, 200);
      assert.match(script.body.toString(), /\/status\.json/);
      const help = await run(process.execPath, [join(app, 'dist', 'server.js'), '--help'], { cwd: app });
      assert.match(help.stdout, /^ {2}TARGET_URL +[^\n]*(\n {6,}[^\n]*)*\(default: http:\/\/127\.0\.0\.1:8080\)$/m);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    } finally {
      await upstream.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
