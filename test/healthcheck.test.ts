/**
 * The Docker image's HEALTHCHECK (node dist/healthcheck.js) against the real server process:
 * healthy wherever the admin listener listens, healthy from the proxy's port with
 * ADMIN_PORT=off, unhealthy (exit 1, one line why) once the server is gone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream } from './helpers/http';
import { freePort } from './helpers/net';
import { startServerProcess } from './helpers/process';

const HEALTHCHECK_JS = join(__dirname, '..', 'src', 'healthcheck.js');
const ROOT = join(__dirname, '..', '..');

/** Runs the health check with the server's environment; its exit code and stderr. */
function healthcheck(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HEALTHCHECK_JS], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr });
    });
  });
}

describe('container health check', () => {
  it('is what the Dockerfile runs', () => {
    assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "dist\/healthcheck\.js"\]/);
  });

  for (const [what, adminEnv] of [
    ['the admin listener on a non-loopback-default address (ADMIN_HOST=127.0.0.2)', { ADMIN_HOST: '127.0.0.2' }],
    ['the admin listener on every address (ADMIN_HOST=0.0.0.0, as in the image)', { ADMIN_HOST: '0.0.0.0' }],
    ['no admin listener (ADMIN_PORT=off): the proxy port is checked', undefined],
  ] as const) {
    it(`healthy, then unhealthy once the server stops: ${what}`, async () => {
      const upstream = await startUpstream();
      const env: Record<string, string> = { TARGET_URL: upstream.url, HOST: '127.0.0.1', PORT: String(await freePort()) };
      if (adminEnv !== undefined) Object.assign(env, adminEnv, { ADMIN_PORT: String(await freePort()) });
      else env.ADMIN_PORT = 'off';
      const server = await startServerProcess(env);
      try {
        const healthy = await healthcheck(env);
        assert.deepEqual(healthy, { code: 0, stderr: '' });
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
        await upstream.close();
      }
      const gone = await healthcheck(env);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /^unhealthy: .*ECONNREFUSED/);
    });
  }

  it('unhealthy when the environment is not one the proxy would start with', async () => {
    const result = await healthcheck({ PORT: 'not-a-port' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^unhealthy: .*PORT/);
  });
});
