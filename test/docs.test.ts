/**
 * The docs: README.md short and a map of docs/, every page linked and every relative link
 * pointing at a file that exists, and docs/configuration.md what `npm run docs` writes from
 * .env.example, whose values are the code's own defaults.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseConfig } from '../src/config/config';
import { parseEnvExample } from '../src/config/variables';
import { CONFIGURATION_PAGE, configurationPage } from '../scripts/configuration-page';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));

describe('docs', () => {
  it('README.md stays at most 300 lines and links every page of docs/', () => {
    const readme = read('README.md');
    assert.ok(readme.split('\n').length <= 300, `README.md has ${readme.split('\n').length} lines`);
    assert.ok(pages.length >= 9, `docs/ has ${pages.length} pages`);
    for (const page of pages) assert.ok(readme.includes(`](docs/${page}`), `README.md links docs/${page}`);
  });

  it('every relative link in README.md and docs/ points at a file that exists', () => {
    for (const file of ['README.md', ...pages.map((p) => `docs/${p}`)]) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        assert.ok(existsSync(join(ROOT, dirname(file), target!)), `${file} links ${target}, which does not exist`);
      }
    }
  });

  it('docs/configuration.md is what `npm run docs` writes from .env.example', () => {
    assert.equal(readFileSync(CONFIGURATION_PAGE, 'utf8'), configurationPage(read('.env.example')), 'run npm run docs');
  });

  it('.env.example gives every variable the value the code takes when it is unset', () => {
    const example = Object.fromEntries(parseEnvExample(read('.env.example')).map((v) => [v.name, v.default]));
    const strip = ({ warnings: _warnings, ...config }: ReturnType<typeof parseConfig>) => config;
    const defaults = parseConfig({});
    // PLATFORM set by name asks for its signatures (a start without them is refused): compared alone.
    const { PLATFORM: platform, ...rest } = example;
    assert.equal(platform, defaults.platform);
    assert.deepEqual(strip(parseConfig(rest)), strip(defaults));
  });
});
