/**
 * Pure helpers for the tests that hold the reference in `docs/` to the code: the fields of the
 * target schema, the fields a reference documents, the commands and options of a commander
 * program, and the relative links of a Markdown file.
 */
import type { Command } from 'commander';

/** The part of a zod (or zod/mini) schema that these walks read. */
interface SchemaNode {
  _zod: { def: Record<string, unknown> & { type: string } };
}

function isSchema(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/** A field path of the target model, as the reference writes it. */
export interface FieldPath {
  path: string;
  /** Whether the field holds a value (not only an object of further fields). */
  leaf: boolean;
}

/**
 * Every field path of a zod schema: `deploy.healthGate.timeout`, `health.probes[].url`,
 * `recovery.<name>.steps[].type`. Unions (discriminated or not) merge their members' fields at
 * one path, arrays add `[]`, records add `.<name>`. A path is a leaf when some member of it is not
 * an object.
 *
 * @example
 * schemaPaths(targetSchema).find((f) => f.path === 'deploy.batches.size'); // { leaf: true, … }
 */
export function schemaPaths(schema: unknown, prefix = ''): FieldPath[] {
  const found = new Map<string, boolean>();
  const visit = (node: unknown, path: string): void => {
    if (!isSchema(node)) return;
    const def = node._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        visit(def.innerType, path);
        return;
      case 'pipe':
        visit(def.in, path);
        return;
      case 'lazy':
        visit((def.getter as () => unknown)(), path);
        return;
      case 'union':
        for (const option of def.options as unknown[]) visit(option, path);
        return;
      case 'intersection':
        visit(def.left, path);
        visit(def.right, path);
        return;
      case 'array':
        visit(def.element, `${path}[]`);
        return;
      case 'record':
        visit(def.valueType, `${path}.<name>`);
        return;
      case 'object':
        for (const [key, value] of Object.entries(def.shape as Record<string, unknown>)) {
          const child = path ? `${path}.${key}` : key;
          if (!found.has(child)) found.set(child, false);
          markLeaf(value, child);
          visit(value, child);
        }
        return;
      default:
        return;
    }
  };
  const markLeaf = (node: unknown, path: string): void => {
    if (holdsValue(node)) found.set(path, true);
  };
  visit(schema, prefix);
  return [...found].map(([path, leaf]) => ({ path, leaf })).sort((a, b) => a.path.localeCompare(b.path));
}

/** Whether a schema (or one member of its unions) holds a value rather than only further fields. */
function holdsValue(node: unknown): boolean {
  if (!isSchema(node)) return false;
  const def = node._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return holdsValue(def.innerType);
    case 'pipe':
      return holdsValue(def.in);
    case 'lazy':
      return holdsValue((def.getter as () => unknown)());
    case 'union':
      return (def.options as unknown[]).some(holdsValue);
    case 'intersection':
      return holdsValue(def.left) || holdsValue(def.right);
    case 'array':
      return holdsValue(def.element);
    case 'record':
      return holdsValue(def.valueType);
    case 'object':
      return false;
    default:
      return true;
  }
}

/**
 * The field paths a reference documents: the first cell of each table row, when it is a single
 * code span that starts with a lowercase letter (`deploy.batches.size`).
 *
 * @example
 * documentedFields('| `hosts.region` | the AWS region |'); // ['hosts.region']
 */
export function documentedFields(markdown: string): string[] {
  const fields: string[] = [];
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*`([a-z][A-Za-z0-9.<>[\]-]*)`\s*\|/.exec(line);
    if (match?.[1]) fields.push(match[1]);
  }
  return fields;
}

/**
 * Whether `path` is documented: named itself, or as the parent of a documented field
 * (`deploy.healthGate` is documented by `deploy.healthGate.timeout`).
 */
export function isDocumented(path: string, documented: ReadonlySet<string>): boolean {
  if (documented.has(path)) return true;
  for (const field of documented) {
    if (field.startsWith(`${path}.`) || field.startsWith(`${path}[]`)) return true;
  }
  return false;
}

/** One command of a program: its words after `stepops`, and the long flags of its options. */
export interface CommandEntry {
  path: string;
  options: string[];
  /** Whether it has subcommands (a group such as `plan`'s choices is not one). */
  group: boolean;
}

/**
 * Every command and subcommand of a commander program, with its options' long flags
 * (`--no-follow` as declared), the help option excluded.
 *
 * @example
 * commandEntries(program).find((c) => c.path === 'deploy')?.options; // ['--ref', '--stage', …]
 */
export function commandEntries(program: Command, prefix = ''): CommandEntry[] {
  const entries: CommandEntry[] = [];
  for (const command of program.commands) {
    const path = prefix ? `${prefix} ${command.name()}` : command.name();
    const options = command.options.map((o) => o.long).filter((long): long is string => Boolean(long));
    entries.push({ path, options, group: command.commands.length > 0 });
    entries.push(...commandEntries(command, path));
  }
  return entries;
}

/** A section of the CLI reference: the command its heading names, and the text up to the next. */
export interface CommandSection {
  path: string;
  text: string;
}

/**
 * The sections of the CLI reference, one per heading that names a command in a code span:
 * `## \`stepops deploy <target>\`` documents `deploy`. A heading may name several commands,
 * separated by `/` (`stepops approve <run>` / `stepops reject <run>`).
 */
export function commandSections(markdown: string): CommandSection[] {
  const sections: CommandSection[] = [];
  let current: CommandSection[] = [];
  for (const line of markdown.split('\n')) {
    if (/^#{1,6}\s/.test(line)) {
      current = [];
      for (const match of line.matchAll(/`stepops ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)/g)) {
        const section = { path: match[1] ?? '', text: '' };
        current.push(section);
        sections.push(section);
      }
      continue;
    }
    for (const section of current) section.text += `${line}\n`;
  }
  return sections;
}

/**
 * The long flags an option table of a section declares: the first cell of each row, when it starts
 * with a code span of `--flag` (`| \`--stage S\` | … |`).
 */
export function documentedOptions(sectionText: string): string[] {
  const flags: string[] = [];
  for (const line of sectionText.split('\n')) {
    const match = /^\|\s*`(--[a-z][a-z-]*)/.exec(line);
    if (match?.[1]) flags.push(match[1]);
  }
  return flags;
}

/** A relative link of a Markdown file: where it points and the line it is on. */
export interface MarkdownLink {
  target: string;
  line: number;
}

/**
 * The relative links of a Markdown text (`[text](path#anchor)`, `[text](#anchor)`), code spans and
 * fenced blocks excluded; links with a scheme (`https:`, `mailto:`) are left out.
 */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^\s*```/.test(text)) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    const withoutCode = text.replace(/`[^`]*`/g, '');
    for (const match of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      links.push({ target, line: index + 1 });
    }
  });
  return links;
}

/**
 * The anchors GitHub gives a Markdown file's headings: lowercase, punctuation other than `-` and
 * `_` removed, spaces as `-`, a repeated heading suffixed `-1`, `-2`.
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    const match = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!match?.[1]) continue;
    const base = match[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}
