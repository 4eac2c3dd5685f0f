/**
 * --check's view of the configuration: every variable of .env.example under its own name, in
 * its section, with the value in effect (lists as the comma-separated lists they are written as),
 * secrets masked, and whether it was set or its default was taken — the preset's, for the
 * variables a PLATFORM fills in.
 */
import type { Env } from './env-reader';
import type { Config } from './types';
import { redactUrl } from './redact';
import { knownVariables } from './variables';

/** Variables whose value is a secret: shown as *** when set. */
const SECRET = /SECRET|TOKEN|PASSWORD/;

/** The variables whose empty default means "the preset's": their value in effect, from the config. */
const FROM_PRESET: Readonly<Record<string, (config: Config) => string>> = {
  AFFINITY_KEY: (config) => config.keyPaths.map((path) => path.join('.')).join(','),
  SIGNATURE_SCHEME: (config) => (config.verifySignatures ? config.signatureScheme : 'none'),
};

/** One `NAME=value  # set|default` line per variable, under `# --- Section ---` headings. */
export function effectiveVariables(env: Env, config: Config): string {
  const lines: string[] = [];
  let section = '';
  const rows: [string, string][] = [];
  const flush = (): void => {
    const width = Math.min(48, Math.max(0, ...rows.map(([assignment]) => assignment.length)));
    for (const [assignment, source] of rows.splice(0)) lines.push(`${assignment.padEnd(width)}  # ${source}`);
  };
  for (const variable of knownVariables()) {
    if (variable.section !== section) {
      flush();
      section = variable.section;
      lines.push(`# --- ${section} ---`);
    }
    const given = env[variable.name]?.trim() ?? '';
    if (given !== '') {
      rows.push([`${variable.name}=${SECRET.test(variable.name) ? '***' : redactList(given)}`, 'set']);
      continue;
    }
    const preset = FROM_PRESET[variable.name];
    if (preset !== undefined && variable.default === '') rows.push([`${variable.name}=${preset(config)}`, `default: PLATFORM=${config.platform}'s`]);
    else rows.push([`${variable.name}=${redactList(variable.default)}`, 'default']);
  }
  flush();
  return `${lines.join('\n')}\n`;
}

/** Each comma-separated entry with the password of a URL masked. */
function redactList(value: string): string {
  return value.includes(',') ? value.split(',').map(redactUrl).join(',') : redactUrl(value);
}
