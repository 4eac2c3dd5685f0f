/**
 * Runs the real entry point (build/src/server.js, the same code as dist/server.js) as a child
 * process, and reads its start line for the port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { untilAccepting } from './net';
import { waitFor } from './wait';

export const SERVER_JS = join(__dirname, '..', '..', 'src', 'server.js');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Starts `node <script>` with `env` and resolves once it printed its listening line. */
export function startServerProcess(env: Record<string, string>, script = SERVER_JS, cwd?: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [script], {
    // The admin listener is off unless a test asks for it: parallel tests would share 9091.
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: 'off', ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/\S+:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), stdout: () => out, stderr: () => err, exited });
    });
    exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${err}`)));
  });
}

/** Waits until the process's stderr has a line matching `pattern`; fails naming what it said. */
export async function heard(server: ServerProcess, pattern: RegExp, what: string): Promise<void> {
  await waitFor(() => pattern.test(server.stderr()), what, { ms: 10_000, pauseMs: 20 }).catch((err: unknown) => {
    throw new Error(`${String(err)}; stderr was:\n${server.stderr()}`);
  });
}

/** Runs `node <script> [args]` to completion; resolves with its exit code and output. */
export function runServerProcess(env: Record<string, string>, args: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER_JS, ...args], { env: { PATH: process.env.PATH ?? '', ADMIN_PORT: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ForegroundDaemon {
  readonly child: ChildProcess;
  /** SIGTERM, wait for the exit, remove its folder. */
  stop(): Promise<void>;
}

/**
 * A load balancer run in the foreground from a config in `dir`: resolves once `readyPort` accepts
 * connections, or fails with what the daemon said on stderr (and removes `dir`).
 */
export async function foregroundDaemon(child: ChildProcess, dir: string, readyPort: number, what: string): Promise<ForegroundDaemon> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    await untilAccepting(readyPort, what, () => exited);
  } catch (err) {
    if (!exited) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}:\n${stderr}`);
  }
  return {
    child,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
