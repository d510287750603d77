/**
 * Every relative link of the README and of docs/ resolves: the file (or folder) it names exists,
 * and the heading its `#anchor` names is in that file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchors, relativeLinks } from './reference.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');

/** README.md and every Markdown file under docs/, relative to the repository. */
function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.join('docs', file));
  return ['README.md', ...docs.sort()];
}

/** What is wrong with each relative link of `file`, as `file:line: link: why`. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const problems: string[] = [];
  for (const { target, line } of relativeLinks(text)) {
    const [pathPart = '', anchor] = target.split('#');
    const resolved = pathPart ? path.join(path.dirname(file), decodeURIComponent(pathPart)) : file;
    if (!existsSync(path.join(ROOT, resolved))) {
      problems.push(`${file}:${line}: ${target}: no file ${resolved}`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md')) {
      problems.push(`${file}:${line}: ${target}: an anchor into a file that is not Markdown`);
    } else if (!headingAnchors(readFileSync(path.join(ROOT, resolved), 'utf8')).has(anchor)) {
      problems.push(`${file}:${line}: ${target}: no heading "#${anchor}" in ${resolved}`);
    }
  }
  return problems;
}

describe('links of the README and docs/', () => {
  it.each(markdownFiles())('%s: every relative link resolves', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it('keeps the README short: the reference is in docs/', () => {
    const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(320);
  });
});

describe('the link reader', () => {
  it('reads relative links outside code, with their lines', () => {
    const text = [
      '[a](docs/x.md#y) and [web](https://example.com)',
      '`[no](z.md)`',
      '```',
      '[no](w.md)',
      '```',
      '[b](#c)',
    ].join('\n');
    expect(relativeLinks(text)).toEqual([
      { target: 'docs/x.md#y', line: 1 },
      { target: '#c', line: 6 },
    ]);
  });

  it('gives headings the anchors GitHub gives them', () => {
    const anchors = headingAnchors(
      [
        '# The `stepops` command',
        '## 2. Create the secrets',
        '### `stepops deploy <target>`',
        '## Notes',
        '## Notes',
      ].join('\n'),
    );
    expect([...anchors]).toEqual([
      'the-stepops-command',
      '2-create-the-secrets',
      'stepops-deploy-target',
      'notes',
      'notes-1',
    ]);
  });
});
