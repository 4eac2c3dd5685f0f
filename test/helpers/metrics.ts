/**
 * A small reader of the Prometheus text exposition format (version 0.0.4), strict enough to fail
 * on malformed output: `# HELP`/`# TYPE` comments, then `name{label="value",...} number` lines.
 */
export type Samples = Map<string, number>;

// Values as Go's ParseFloat (Prometheus's parser) reads them: NaN and Inf in any case.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?)|[Nn][Aa][Nn]|[+-]?[Ii]nf)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    const labels = [...(m[3] ?? '').matchAll(LABEL)].map((l) => `${l[1]}="${l[2]}"`).sort();
    const value = /nan/i.test(m[4]!) ? NaN : /inf/i.test(m[4]!) ? (m[4]!.startsWith('-') ? -Infinity : Infinity) : Number(m[4]);
    samples.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!, value);
  }
  return samples;
}

/** The value of one series, 0 when absent. Labels in any order: `name{a="1",b="2"}`. */
export function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const parts = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return samples.get(parts.length ? `${name}{${parts.join(',')}}` : name) ?? 0;
}
