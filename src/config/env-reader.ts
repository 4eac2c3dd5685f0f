/**
 * Typed readers over an environment record, for config.ts: each records a problem (variable,
 * value given, what is accepted) and returns the default, instead of throwing.
 */

/** The environment, as process.env gives it (tests hand a plain record). */
export type Env = Readonly<Record<string, string | undefined>>;

/** One bad variable: its name, what was given, and what is accepted. */
export interface ConfigProblem {
  readonly variable: string;
  readonly value: string;
  readonly expected: string;
}

/** Typed readers that record a problem and return the default instead of throwing. */
export class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: ConfigProblem[],
  ) {}

  /** Records a problem found by a check of the caller's own. */
  problem(variable: string, value: string, expected: string): void {
    this.problems.push({ variable, value, expected });
  }

  /** Whether a problem with `variable` is recorded already. */
  hasProblem(variable: string): boolean {
    return this.problems.some((p) => p.variable === variable);
  }

  /** The value as given (untrimmed), or undefined when unset. */
  given(name: string): string | undefined {
    return this.env[name];
  }

  /** The trimmed value, or undefined when unset or blank (blank means "use the default"). */
  private raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  list(name: string, fallback: string): string[] {
    return (this.raw(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push({ variable: name, value: v, expected: `a whole number from ${min} to ${max}` });
      return fallback;
    }
    return n;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    this.problems.push({ variable: name, value: v, expected: 'true or false' });
    return fallback;
  }

  /** One of `allowed`, case-insensitive. */
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase();
    const match = allowed.find((a) => a === lower);
    if (match !== undefined) return match;
    this.problems.push({ variable: name, value: v, expected: `one of ${allowed.join(', ')}` });
    return fallback;
  }

  /** Comma-separated URLs, each checked as `url` does; duplicates are refused. */
  urlList(name: string): URL[] {
    const urls: URL[] = [];
    for (const item of this.list(name, '')) {
      const url = this.checkUrl(name, item);
      if (url === undefined) continue;
      if (urls.some((u) => u.href === url.href)) {
        this.problems.push({ variable: name, value: item, expected: 'each URL once' });
        continue;
      }
      urls.push(url);
    }
    return urls;
  }

  url(name: string, fallback: string): URL | undefined {
    return this.checkUrl(name, this.raw(name) ?? fallback);
  }

  private checkUrl(name: string, v: string): URL | undefined {
    let url: URL | undefined;
    try {
      url = new URL(v);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      this.problems.push({ variable: name, value: v, expected: 'an absolute http:// or https:// URL, such as http://127.0.0.1:8080' });
      return undefined;
    }
    if (url.search !== '' || url.hash !== '') {
      this.problems.push({ variable: name, value: v, expected: 'a URL without ?query or #fragment (the request keeps its own query)' });
      return undefined;
    }
    return url;
  }
}
