/**
 * Writes docs/configuration.md from .env.example: every variable, its default and what it does,
 * under .env.example's sections. `npm run docs` runs it; test/docs.test.ts fails when the page
 * is not what this would write, so the page, .env.example and --help never disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvExample, type Variable } from '../src/config/variables';

const ROOT = join(__dirname, '..', '..');
export const CONFIGURATION_PAGE = join(ROOT, 'docs', 'configuration.md');

/** The page, from the text of .env.example. */
export function configurationPage(envExample: string): string {
  const variables = parseEnvExample(envExample);
  const sections = [...new Set(variables.map((v) => v.section))];
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from .env.example by `npm run docs`: edit .env.example, not this page. -->',
    '',
    'Every variable is read and validated at start-up; a bad value prints one line per problem',
    '(variable, value given, what is accepted) and the process exits with status 2 before listening.',
    'A blank value means the default. Booleans accept `true/false`, `1/0`, `yes/no`, `on/off`.',
    '`node dist/server.js --help` prints this list; `--check` prints each variable as it is in effect.',
    '',
    ...sections.map((section) => `- [${section}](#${anchor(section)})`),
  ];
  for (const section of sections) {
    lines.push('', `## ${section}`, '', '| variable | default | what it does |', '| --- | --- | --- |');
    for (const v of variables.filter((x) => x.section === section)) lines.push(row(v));
  }
  return `${lines.join('\n')}\n`;
}

function row(v: Variable): string {
  const shown = v.default === '' ? '(empty)' : `\`${v.default}\``;
  // A variable that shares the comment of the one before it says so.
  const what = v.description === '' ? 'as above' : v.description;
  return `| \`${v.name}\` | ${cell(shown)} | ${cell(what)} |`;
}

/** Pipes would end a table cell. */
const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

if (require.main === module) {
  writeFileSync(CONFIGURATION_PAGE, configurationPage(readFileSync(join(ROOT, '.env.example'), 'utf8')));
  console.log(`wrote ${CONFIGURATION_PAGE}`);
}
