/**
 * docs/cli.md documents every command and option the `stepops` program registers, and nothing it
 * does not: the program is built and walked at run time, so a command or option added in `cli/`
 * without its line in the reference (or a line left behind) fails here, naming it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { type CommandEntry, commandEntries, commandSections, documentedOptions } from './reference.ts';

const REFERENCE = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

/** Options every command has, or that the program itself answers. */
const GLOBAL_OPTIONS = new Set(['--help', '--version']);

/**
 * The program as `stepops` builds it. Importing `cli/stepops.ts` also parses `process.argv`; that
 * one parse is stubbed, so that only the commands are built.
 */
async function program(): Promise<Command> {
  const parse = vi.spyOn(Command.prototype, 'parseAsync').mockResolvedValue(new Command());
  try {
    const { buildProgram } = await import('../../cli/stepops.ts');
    return buildProgram();
  } finally {
    parse.mockRestore();
  }
}

const entries: CommandEntry[] = commandEntries(await program());
const sections = commandSections(REFERENCE);

describe('docs/cli.md', () => {
  it('has a section for every command', () => {
    const documented = new Set(sections.map((s) => s.path));
    const missing = entries.filter((c) => !c.group && !documented.has(c.path)).map((c) => c.path);
    expect(missing, 'commands registered in cli/ with no section in docs/cli.md').toEqual([]);
  });

  it('documents no command the program lacks', () => {
    const registered = new Set(entries.map((c) => c.path));
    const unknown = sections.map((s) => s.path).filter((p) => !registered.has(p));
    expect(unknown, 'sections of docs/cli.md naming no registered command').toEqual([]);
  });

  it("lists every option of each command in its section's table, and no other", () => {
    const problems: string[] = [];
    for (const section of sections) {
      const command = entries.find((c) => c.path === section.path);
      if (!command) continue;
      const declared = command.options.filter((o) => !GLOBAL_OPTIONS.has(o));
      const listed = documentedOptions(section.text);
      for (const option of declared) {
        if (!listed.includes(option)) problems.push(`stepops ${command.path}: ${option} is not in its table`);
      }
      for (const option of listed) {
        if (!declared.includes(option))
          problems.push(`stepops ${command.path}: ${option} is no option of it`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the CLI walk', () => {
  it('finds subcommands and their long options', () => {
    const root = new Command('stepops');
    const run = root.command('run');
    run.command('deploy <target>').option('--ref <ref>').option('--no-follow');
    root.command('status').option('-j, --json');
    expect(commandEntries(root)).toEqual([
      { path: 'run', options: [], group: true },
      { path: 'run deploy', options: ['--ref', '--no-follow'], group: false },
      { path: 'status', options: ['--json'], group: false },
    ]);
  });

  it('reads a section per command a heading names, and the options of its table', () => {
    const text = [
      '### `stepops approve <run>` / `stepops reject <run>`',
      '',
      '| option | meaning |',
      '| --- | --- |',
      '| `--comment T` | shown |',
      'as `stepops deploy --stage S` does',
      '## Read',
      '### `stepops status [target]`',
    ].join('\n');
    const found = commandSections(text);
    expect(found.map((s) => s.path)).toEqual(['approve', 'reject', 'status']);
    expect(documentedOptions(found[0]?.text ?? '')).toEqual(['--comment']);
  });
});
