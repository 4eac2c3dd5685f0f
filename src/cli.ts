/**
 * The command line: the proxy takes its settings from the environment, so the flags only ask
 * about it. --help (the variables with their defaults), --version, --check (validate and print
 * the effective settings, secrets masked, without listening). Anything else exits 2.
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from './config/config';
import type { Env } from './config/env-reader';
import type { Config } from './config/types';
import { redactUrl } from './config/redact';
import { effectiveVariables } from './config/effective';
import { knownVariables } from './config/variables';
import { packageVersion } from './package-files';

export type Command = 'run' | 'help' | 'version' | 'check';

/** What the arguments ask for, or a usage error (a message for stderr). */
export function commandOf(argv: readonly string[]): { command: Command } | { error: string } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        check: { type: 'boolean' },
      },
      allowPositionals: false,
      strict: true,
    });
    if (values.help === true) return { command: 'help' };
    if (values.version === true) return { command: 'version' };
    if (values.check === true) return { command: 'check' };
    return { command: 'run' };
  } catch (err) {
    return { error: `${err instanceof Error ? err.message : String(err)}\nTry 'webhook-affinity --help'.` };
  }
}

export function helpText(): string {
  const variables = knownVariables();
  const width = Math.max(0, ...variables.map((v) => v.name.length));
  const lines: string[] = [];
  let section: string | undefined;
  for (const v of variables) {
    if (v.section !== section) lines.push('', `${v.section || 'General'}:`);
    section = v.section;
    const text = `${v.description === '' ? v.summary : v.description}${v.default === '' ? '' : ` (default: ${v.default})`}`;
    const [first = '', ...rest] = wrap(text, HELP_WIDTH - width - 4);
    lines.push(`  ${v.name.padEnd(width)}  ${first}`, ...rest.map((line) => `${' '.repeat(width + 4)}${line}`));
  }
  return [
    `webhook-affinity ${packageVersion()}: a reverse proxy that gives load-balancer affinity to webhooks.`,
    '',
    'Usage: webhook-affinity [--check | --help | --version]',
    '',
    'It is configured by environment variables, and runs until SIGTERM or SIGINT (then drains).',
    '  --check    validate the configuration, print every variable as it is in effect (secrets masked), exit 0, or 2 when it is invalid;',
    '             with STORE=postgres, also whether the database answers and its schema is current (exit 1 when not; nothing is changed)',
    '  -h, --help     this text',
    '  -v, --version  the version',
    '',
    'Exit status: 0 stopped cleanly, 1 could not listen or stopped badly, 2 invalid configuration or usage, 3 stopped but dropped accepted webhooks (DELIVERY=queued, STORE=memory).',
    '',
    'Environment variables (docs/configuration.md lists them; the docs/ pages say more about each):',
    ...(lines.length > 0 ? lines : ['  (the list is in .env.example, which is not installed here)']),
    '',
  ].join('\n');
}

/** Width --help's descriptions are wrapped to. */
const HELP_WIDTH = 110;

/** `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** --check: the effective settings, one per line, secrets masked; or the problems. */
export function checkConfiguration(env: Env): { ok: true; text: string; warnings: readonly string[]; config: Config } | { ok: false; text: string } {
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, text: err.message };
    throw err;
  }
  return { ok: true, text: effectiveVariables(env, config), warnings: config.warnings, config };
}

/** Config fields that hold secrets: shown as *** (or absent). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['webhookSecrets', 'adminToken', 'deliverySigningSecret', 'telegramBotToken']);

/** Each setting as `name: value`; secrets masked, passwords in URLs too. */
export function effectiveSettings(config: Config): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (name === 'warnings' || typeof value === 'function') continue;
    lines.push(`${name}: ${SECRET_FIELDS.has(name) ? masked(value) : shown(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function masked(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map(() => '***').join(',');
  return value === undefined || value === '' ? '(none)' : '***';
}

function shown(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (value instanceof URL) return redactUrl(value.href);
  if (typeof value === 'string') return redactUrl(value);
  // A Set would print as {}: its members are what was set.
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof URL ? redactUrl(v.href) : typeof v === 'string' ? redactUrl(v) : v instanceof Set ? [...(v as Set<unknown>)] : v));
  return text === undefined ? String(value) : text;
}
