/**
 * PostgreSQL servers of a test's own, from Debian's binaries, on free ports: a primary that can
 * be stopped, started and killed, and a streaming standby of it (pg_basebackup) that can be
 * promoted. initdb, pg_basebackup and pg_ctl refuse to run as root: as root they run as the
 * `postgres` user. Each is stopped by its own postmaster's PID.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untilAccepting } from './net';

const VERSIONS_DIR = '/usr/lib/postgresql';

/** Where Debian put the server binaries (the newest version installed), or undefined. */
function binDir(): string | undefined {
  if (!existsSync(VERSIONS_DIR)) return undefined;
  const versions = readdirSync(VERSIONS_DIR)
    .filter((v) => existsSync(join(VERSIONS_DIR, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(VERSIONS_DIR, versions[0], 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
function run(binary: string, args: readonly string[]): string {
  const bin = join(binDir()!, binary);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** A folder the server's user owns. */
function ownedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  return dir;
}

export function privatePostgresSkipReason(): string | false {
  if (binDir() === undefined) return `PostgreSQL's server binaries are not in ${VERSIONS_DIR}`;
  if (asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'there is no postgres user to run initdb as';
  return false;
}

export class PrivatePostgres {
  port = 0;
  private constructor(readonly dir: string) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** A fresh cluster (trust auth, replication allowed from 127.0.0.1), started. */
  static async primary(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
    const server = new PrivatePostgres(ownedDir('wa-pg-'));
    run('initdb', ['-D', join(server.dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    server.port = await freePort();
    await server.start({ wal_level: 'replica', max_wal_senders: '5', fsync: 'off', ...settings });
    return server;
  }

  /** A streaming standby of `primary`, named `name` (for synchronous_standby_names), started. */
  static async standbyOf(primary: PrivatePostgres, name: string): Promise<PrivatePostgres> {
    const server = new PrivatePostgres(ownedDir('wa-pg-standby-'));
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(server.dir, 'data'), '-R', '-X', 'stream', '--no-sync']);
    server.port = await freePort();
    await server.start({ primary_conninfo: `'host=127.0.0.1 port=${primary.port} user=postgres application_name=${name}'`, fsync: 'off' });
    return server;
  }

  /** Starts the server (again), with `settings` as -c options. */
  async start(settings: Record<string, string> = {}): Promise<void> {
    this.settings = { ...this.settings, ...settings };
    const options = [`-p ${this.port}`, `-k ${this.dir}`, '-h 127.0.0.1', ...Object.entries(this.settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
    run('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
    await untilAccepting(this.port, 'PostgreSQL');
  }
  private settings: Record<string, string> = {};

  /** A clean, fast stop (connections are cut, the server waits for nothing). */
  stop(): void {
    if (this.pid() === undefined) return;
    run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  /** kill -9 of the postmaster: its backends notice and die with it; nothing is flushed. */
  kill(): void {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server and every backend: it accepts connections and answers nothing. */
  signalAll(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const pid = this.pid();
    if (pid === undefined) return;
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.trim() !== '');
    for (const p of [pid, ...children.map(Number)]) process.kill(p, signal);
  }

  /** A standby becomes a primary. */
  promote(): void {
    run('pg_ctl', ['-D', join(this.dir, 'data'), '-w', 'promote']);
  }

  /** Stops it (by its own PID, if still up) and removes its folder. */
  destroy(): void {
    const pid = this.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The postmaster's PID while it runs. */
  pid(): number | undefined {
    const file = join(this.dir, 'data', 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** The server's log, for a failing test's message. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'log'), 'utf8');
    } catch {
      return '';
    }
  }
}
