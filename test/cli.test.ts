/**
 * The command line and the configuration's voice: --help, --version, --check and unknown flags
 * (run as the real entry point), the near-miss warning for mistyped variable names, and
 * .env.example, which --help prints, listing exactly the variables the code reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/config';
import { editDistance, nearMissWarnings } from '../src/config/near-miss';
import { knownVariables } from '../src/config/variables';
import { runServerProcess, startServerProcess } from './helpers/process';

const ROOT = join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every variable name src/ reads through the config reader (`read.string('NAME', ...)` and kin). */
function variablesReadBySource(dir = join(ROOT, 'src')): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) for (const n of variablesReadBySource(path)) names.add(n);
    else if (entry.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/\bread\s*\.[a-zA-Z]+\(\s*'([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]!);
  }
  return names;
}

/** --help's variables, each with its description joined from its wrapped lines. */
function helpEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let name: string | undefined;
  for (const line of help.split('\n')) {
    const m = /^ {2}([A-Z][A-Z0-9_]*) +(.*)$/.exec(line);
    if (m !== null) {
      name = m[1]!;
      entries.set(name, m[2]!);
    } else if (name !== undefined && /^ {6,}\S/.test(line)) entries.set(name, `${entries.get(name)} ${line.trim()}`);
    else name = undefined;
  }
  return entries;
}

describe('command line', () => {
  it('--help and -h print usage and every variable with its default, and exit 0 without listening', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await runServerProcess({ PORT: '0' }, [flag]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^webhook-affinity \S+: /);
      assert.match(stdout, /Usage: webhook-affinity \[--check \| --help \| --version\]/);
      assert.doesNotMatch(stdout, /listening on/);
      assert.match(stdout, /^Listening:$/m, 'grouped under .env.example’s sections');
      assert.doesNotMatch(stdout, /---/, 'section rules are not taken for descriptions');
      const entries = helpEntries(stdout);
      for (const v of knownVariables()) {
        const entry = entries.get(v.name);
        assert.ok(entry !== undefined, `${v.name} is listed`);
        if (v.default !== '') assert.ok(entry.includes(`(default: ${v.default})`), `${v.name}'s default`);
      }
      // Every accepted value, not just the first sentence: DELIVERY's two, FORWARD_ENGINE's three names.
      assert.match(entries.get('DELIVERY') ?? '', /direct: .* queued: /);
      assert.match(entries.get('FORWARD_ENGINE') ?? '', /undici .* node .* http-proxy/);
      assert.match(entries.get('ADMIN_TOKEN') ?? '', /\/affinity\/<key> and the mailbox's \/queue endpoints/);
    }
  });

  it('--version and -v print the version and exit 0', async () => {
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await runServerProcess({}, [flag]);
      assert.deepEqual([code, stdout], [0, `${VERSION}\n`]);
    }
  });

  it('--check validates, prints the effective settings with secrets masked, and exits 0 without listening', async () => {
    const env = {
      PLATFORM: 'slack',
      WEBHOOK_SECRET: 'sup3r-secret',
      ADMIN_TOKEN: 'adm1n-token',
      STORE: 'redis',
      REDIS_URL: 'redis://user:pa55word@redis.internal:6379',
      BOT_PERSONID: 'U0BOT',
      AFFINITY_COOKIES: 'AWSALB,SERVERID,GCLB,route,INGRESSCOOKIE',
      DELIVERY_SIGNING_SECRET: `whsec_${Buffer.alloc(24, 1).toString('base64')}`,
      TELEGRAM_BOT_TOKEN: '123:tok3n',
    };
    const { code, stdout, stderr } = await runServerProcess(env, ['--check']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^configuration is valid/);
    // Every variable under its own name, with where its value came from.
    assert.match(stdout, /^PLATFORM=slack +# set$/m);
    assert.match(stdout, /^AFFINITY_KEY=event\.user,user\.id,user_id +# default: PLATFORM=slack's$/m, 'the preset’s key paths, as in effect');
    assert.match(stdout, /^SIGNATURE_SCHEME=slack +# default: PLATFORM=slack's$/m);
    assert.match(stdout, /^PORT=9090 +# default$/m);
    assert.match(stdout, /^WEBHOOK_SECRET=\*\*\* +# set$/m);
    assert.match(stdout, /^ADMIN_TOKEN=\*\*\* +# set$/m);
    assert.match(stdout, /^REDIS_URL=redis:\/\/user:\*\*\*@redis\.internal:6379 +# set$/m);
    assert.match(stdout, /^AFFINITY_COOKIES=AWSALB,SERVERID,GCLB,route,INGRESSCOOKIE +# set$/m, 'a list as the list it is written as');
    assert.match(stdout, /^BOT_PERSONID=U0BOT +# set$/m);
    assert.match(stdout, /^DELIVERY_SIGNING_SECRET=\*\*\* +# set$/m);
    assert.match(stdout, /^TELEGRAM_BOT_TOKEN=\*\*\* +# set$/m);
    assert.match(stdout, /^# --- Webhook signatures ---$/m, 'in the sections of .env.example');
    assert.doesNotMatch(stdout, /^[a-z][a-zA-Z]+: /m, 'no internal camelCase names');
    for (const secret of ['sup3r-secret', 'adm1n-token', 'pa55word', env.DELIVERY_SIGNING_SECRET, '123:tok3n'])
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), `${secret} is not printed`);
    assert.doesNotMatch(stdout, /listening on/);
  });

  it('--check exits 2 on an invalid configuration, naming the problem', async () => {
    const { code, stdout, stderr } = await runServerProcess({ AFFINITY_MODE: 'sticky' }, ['--check']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /config: .*AFFINITY_MODE/);
  });

  it('exits 2 on an unknown flag or an argument, pointing at --help', async () => {
    for (const args of [['--bogus'], ['start'], ['--help=yes']]) {
      const { code, stdout, stderr } = await runServerProcess({}, args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /Try 'webhook-affinity --help'/);
    }
  });
});

describe('DEBUG=webhook-affinity:config', () => {
  it('prints the effective settings at start, secrets masked', async () => {
    const server = await startServerProcess({ DEBUG: 'webhook-affinity:config', WEBHOOK_SECRET: 'sup3r-secret', PLATFORM: 'github' });
    try {
      assert.match(server.stderr(), /webhook-affinity:config effective settings \(secrets masked\):/);
      assert.match(server.stderr(), /^webhookSecrets: \*\*\*$/m);
      assert.match(server.stderr(), /^signatureScheme: github$/m);
      assert.ok(!server.stderr().includes('sup3r-secret'));
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('near-miss variables', () => {
  it('warn about a name one or two edits from one of ours, naming the one meant', () => {
    const warnings = parseConfig({ AFINITY_MODE: 'cookie', UPSTREAM: 'http://a:1', WEBHOOK_SECRETS: 's', TARGETURL: 'http://b:2' }).warnings.join('\n');
    assert.match(warnings, /AFINITY_MODE is not a webhook-affinity variable and is ignored; did you mean AFFINITY_MODE\?/);
    assert.match(warnings, /UPSTREAM .*did you mean UPSTREAMS\?/);
    assert.match(warnings, /WEBHOOK_SECRETS .*did you mean WEBHOOK_SECRET\?/);
    assert.match(warnings, /TARGETURL .*did you mean TARGET_URL\?/);
  });

  it('leave the usual environment alone', () => {
    const env = Object.fromEntries(
      [
        'PATH',
        'HOME',
        'HOSTNAME',
        'USER',
        'SHELL',
        'TERM',
        'LANG',
        'PWD',
        'OLDPWD',
        'NODE_ENV',
        'NODE_OPTIONS',
        'CI',
        'DEBUG_COLORS',
        'TZ',
        'EDITOR',
        'INIT_CWD',
        'COLUMNS',
        'LINES',
        'SHLVL',
        'REQUIRE_REDIS',
        'REQUIRE_HAPROXY',
        'REQUIRE_BROWSER',
        'REQUIRE_PROMTOOL',
        'FC_SEED',
      ].map((n) => [n, 'x']),
    );
    assert.deepEqual(
      nearMissWarnings(
        env,
        knownVariables().map((v) => v.name),
      ),
      [],
    );
    assert.deepEqual(nearMissWarnings({ host: 'x', Port: '1' }, ['HOST', 'PORT']), [], 'not upper-case: not ours to judge');
  });

  it('measure edit distance as Levenshtein does', () => {
    assert.equal(editDistance('AFINITY_MODE', 'AFFINITY_MODE'), 1);
    assert.equal(editDistance('HOME', 'HOST'), 2);
    assert.equal(editDistance('', 'ABC'), 3);
    assert.equal(editDistance('KITTEN', 'SITTING'), 3);
  });
});

describe('.env.example', () => {
  it('lists exactly the variables the code reads (and DEBUG), so --help and the near-miss check know them all', () => {
    const listed = new Set(knownVariables().map((v) => v.name));
    const read = variablesReadBySource();
    read.add('DEBUG');
    assert.ok(read.size > 50, `found ${read.size} variables read in src/`);
    assert.deepEqual([...read].filter((n) => !listed.has(n)).sort(), [], 'read but not in .env.example');
    assert.deepEqual([...listed].filter((n) => !read.has(n)).sort(), [], 'in .env.example but never read');
  });
});
