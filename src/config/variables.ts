/**
 * Every variable the proxy reads, with its default and what it does, taken from .env.example:
 * the one list, which a test keeps equal to what the code reads. --help prints it, --check
 * walks it, and the near-miss warning compares the environment against its names.
 */
import { packageFile } from '../package-files';

export interface Variable {
  readonly name: string;
  /** As .env.example sets it ('' when it is empty there). */
  readonly default: string;
  /** The first sentence of the comment above it. */
  readonly summary: string;
  /** The whole comment above it: what it does and what it accepts ('' when it shares the one before). */
  readonly description: string;
  /** The `# --- Section ---` it is listed under. */
  readonly section: string;
}

let cached: readonly Variable[] | undefined;

/** The variables of .env.example, in its order; empty when the file is not shipped. */
export function knownVariables(): readonly Variable[] {
  cached ??= parseEnvExample(packageFile('.env.example') ?? '');
  return cached;
}

/** `NAME=value` lines, each described by the comment block above it (or the one before). */
export function parseEnvExample(text: string): Variable[] {
  const variables: Variable[] = [];
  let comment: string[] = [];
  let summary = '';
  let section = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const heading = /^#\s*---\s*(.*?)\s*-*$/.exec(trimmed);
    if (heading !== null) {
      section = heading[1] ?? '';
      comment = [];
      continue;
    }
    if (trimmed.startsWith('#')) {
      comment.push(trimmed.replace(/^#\s?/, ''));
      continue;
    }
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(trimmed);
    if (m === null) {
      comment = [];
      continue;
    }
    const description = comment.join(' ');
    if (comment.length > 0) summary = firstSentence(description);
    comment = [];
    variables.push({ name: m[1]!, default: m[2]!, summary, description, section });
  }
  return variables;
}

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}
