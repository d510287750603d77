/**
 * What a bash script calls: the programs in command position and the commands it runs with `sudo`,
 * read from the script's text without running it. A small reader of the bash grammar that matters
 * here: quotes, `$(…)`, backticks, `<(…)`, here-documents, `case` patterns, function definitions,
 * and the commands that run another one (`sudo`, `timeout`, `env`, `nohup`, `exec`, `nice`,
 * `command`, `bash -c '…'`). A word it cannot know before the script runs (`$tool args`) is left out.
 */

/** A command a script runs with `sudo`, as written. */
export interface SudoInvocation {
  /** `-u user`: the user it runs as (root when absent). */
  runAs?: string;
  /** The command and its arguments, every word literal. */
  argv: string[];
}

/** What {@link scriptCommands} finds. */
export interface ScriptCommands {
  /** Programs the script runs, in order of first use (builtins, keywords and its own functions left out). */
  programs: string[];
  /** Commands run with sudo whose every word is known; those with a run-time word are left out. */
  sudo: SudoInvocation[];
}

/** A word of a simple command: its literal value, when it has no expansion. */
interface Word {
  literal?: string;
  /** The `2` of `2>file`: part of the redirection, no word of the command. */
  fd?: true;
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'do', '!', '{', 'time', 'while', 'until', 'coproc']);
const ENDERS = new Set(['fi', 'done', 'esac', '}', ']]']);
const BUILTINS = new Set(
  (
    'alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs ' +
    'disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let ' +
    'local logout mapfile popd printf pushd pwd read readarray readonly return select set shift ' +
    'shopt source suspend test times trap true type typeset ulimit umask unalias unset wait . : [ [[ ' +
    'case for function in'
  ).split(' '),
);
/** A program name as PATH finds it (no slash, no expansion). */
const PROGRAM = /^[A-Za-z_][A-Za-z0-9_.+-]*$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;

/** Commands that run the command after their options (and `positional` more words: timeout's duration). */
const PREFIX_OPTIONS: Record<string, { withValue: string[]; positional: number }> = {
  timeout: { withValue: ['-s', '-k', '--signal', '--kill-after'], positional: 1 },
  env: { withValue: ['-u', '--unset', '-C', '--chdir'], positional: 0 },
  nice: { withValue: ['-n', '--adjustment'], positional: 0 },
  nohup: { withValue: [], positional: 0 },
  exec: { withValue: [], positional: 0 },
  stdbuf: { withValue: [], positional: 0 },
  command: { withValue: [], positional: 0 },
};

/** sudo options that take a value (`-u postgres`). */
const SUDO_VALUE_OPTIONS = new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '-R']);

class Reader {
  pos = 0;
  readonly programs: string[] = [];
  readonly functions = new Set<string>();
  readonly sudo: SudoInvocation[] = [];
  #heredocs: { delimiter: string; strip: boolean }[] = [];

  readonly src: string;

  constructor(src: string) {
    this.src = src;
  }

  /** Reads a list of commands up to the end, or to `close` (`)` of `$(`, a backtick). */
  list(close?: ')' | '`'): void {
    let words: Word[] = [];
    let pattern = false;
    let depth = 0;
    const end = () => {
      if (!pattern) this.#simple(words);
      words = [];
    };
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      const next = this.src[this.pos + 1];
      if (c === '\\' && next === '\n') {
        this.pos += 2;
      } else if (c === ' ' || c === '\t' || c === '\r') {
        this.pos += 1;
      } else if (c === '#' && words.length === 0) {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos += 1;
      } else if (c === '\n') {
        end();
        this.pos += 1;
        this.#skipHeredocs();
      } else if (close === '`' && c === '`') {
        this.pos += 1;
        end();
        return;
      } else if (c === ')') {
        this.pos += 1;
        if (pattern) {
          pattern = false;
        } else if (depth > 0) {
          end();
          depth -= 1;
        } else if (close === ')') {
          end();
          return;
        } else {
          end();
        }
      } else if (c === ';') {
        end();
        const caseEnd = next === ';' || next === '&';
        this.pos += caseEnd ? (this.src[this.pos + 2] === '&' ? 3 : 2) : 1;
        if (caseEnd) pattern = true;
      } else if (c === '&' && next === '>') {
        this.pos += 1;
        this.#redirection();
      } else if (c === '&') {
        end();
        this.pos += next === '&' ? 2 : 1;
      } else if (c === '|') {
        if (!pattern) end();
        this.pos += next === '|' || next === '&' ? 2 : 1;
      } else if (c === '(' && !pattern) {
        if (next === '(' && words.length === 0) {
          this.#skipBalanced('((', '))');
        } else if (words.length === 1 && /^\s*\)/.test(this.src.slice(this.pos + 1))) {
          // name() { …; }: a function of the script, not a program.
          const name = words[0]?.literal;
          if (name) this.functions.add(name);
          words = [];
          this.pos = this.src.indexOf(')', this.pos) + 1;
        } else {
          end();
          depth += 1;
          this.pos += 1;
        }
      } else if ((c === '<' || c === '>') && next !== '(') {
        this.#redirection();
      } else if (pattern) {
        // A case pattern: its words are not commands.
        const start = this.pos;
        const word = this.#word();
        if (this.pos === start) this.pos += 1;
        if (word.literal === 'esac') {
          pattern = false;
          words = [];
        }
      } else {
        const start = this.pos;
        const word = this.#word();
        if (!word.fd) words.push(word);
        if (this.pos === start) this.pos += 1;
        const [first, subject, keyword] = words;
        if (first?.literal === 'case' && subject && keyword?.literal === 'in') {
          words = [];
          pattern = true;
        }
      }
    }
    end();
  }

  /** `<`, `>`, `>>`, `2>&1`, `<<EOF`, `<<<`: the target word is a file or a string, not a command. */
  #redirection(): void {
    const op = /^(<<<|<<-|<<|<>|>>|>\||<&|>&|<|>)/.exec(this.src.slice(this.pos))?.[0] ?? '<';
    this.pos += op.length;
    while (this.src[this.pos] === ' ' || this.src[this.pos] === '\t') this.pos += 1;
    if (op === '<<' || op === '<<-') {
      const start = this.pos;
      this.#word();
      const delimiter = this.src.slice(start, this.pos).replace(/['"\\]/g, '');
      this.#heredocs.push({ delimiter, strip: op === '<<-' });
    } else {
      this.#word();
    }
  }

  /** After a line with `<<EOF`: skips the here-document's lines up to its delimiter. */
  #skipHeredocs(): void {
    for (const { delimiter, strip } of this.#heredocs) {
      while (this.pos < this.src.length) {
        const eol = this.src.indexOf('\n', this.pos);
        const line = this.src.slice(this.pos, eol === -1 ? undefined : eol);
        this.pos = eol === -1 ? this.src.length : eol + 1;
        if ((strip ? line.replace(/^\t+/, '') : line) === delimiter) break;
      }
    }
    this.#heredocs = [];
  }

  /** Skips from `open` to its matching `close` (arithmetic). */
  #skipBalanced(open: string, close: string): void {
    this.pos += open.length;
    let depth = 1;
    while (this.pos < this.src.length && depth > 0) {
      if (this.src.startsWith(close, this.pos)) {
        depth -= 1;
        this.pos += close.length;
      } else {
        if (this.src[this.pos] === '(') depth += 1;
        else if (this.src[this.pos] === ')') depth -= 1;
        this.pos += 1;
      }
    }
  }

  /** Reads a nested command list: `$(…)`, `<(…)`, a backtick. */
  #nested(close: ')' | '`'): void {
    this.list(close);
  }

  /** `$…` inside or outside double quotes; false when it is not an expansion. */
  #dollar(): void {
    const next = this.src[this.pos + 1];
    if (next === '(' && this.src[this.pos + 2] === '(') {
      this.pos += 1;
      this.#skipBalanced('((', '))');
    } else if (next === '(') {
      this.pos += 2;
      this.#nested(')');
    } else if (next === '{') {
      this.pos += 2;
      let depth = 1;
      while (this.pos < this.src.length && depth > 0) {
        const ch = this.src[this.pos];
        if (ch === '\\') this.pos += 1;
        else if (ch === '{') depth += 1;
        else if (ch === '}') depth -= 1;
        this.pos += 1;
      }
    } else if (next === "'") {
      this.pos += 2;
      while (this.pos < this.src.length && this.src[this.pos] !== "'") {
        if (this.src[this.pos] === '\\') this.pos += 1;
        this.pos += 1;
      }
      this.pos += 1;
    } else {
      this.pos += 1;
      const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(this.src.slice(this.pos));
      this.pos += name?.[0].length ?? 0;
    }
  }

  /** Reads one word; its literal value when it has no expansion. */
  #word(): Word {
    let value = '';
    let literal = true;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      if (/[\s;&|)]/.test(c)) break;
      if (c === '(') {
        if (value.endsWith('=')) {
          // arr=(a b): one word.
          literal = false;
          this.#skipBalanced('(', ')');
          continue;
        }
        break;
      }
      if ((c === '<' || c === '>') && this.src[this.pos + 1] === '(') {
        this.pos += 2;
        this.#nested(')');
        literal = false;
        continue;
      }
      if (c === '<' || c === '>') break;
      if (c === '\\') {
        value += this.src[this.pos + 1] ?? '';
        this.pos += 2;
      } else if (c === "'") {
        const endQuote = this.src.indexOf("'", this.pos + 1);
        const stop = endQuote === -1 ? this.src.length : endQuote;
        value += this.src.slice(this.pos + 1, stop);
        this.pos = stop + 1;
      } else if (c === '"') {
        this.pos += 1;
        while (this.pos < this.src.length && this.src[this.pos] !== '"') {
          const ch = this.src[this.pos] as string;
          if (ch === '\\') {
            value += this.src[this.pos + 1] ?? '';
            this.pos += 2;
          } else if (ch === '$' && /[({A-Za-z_0-9@*#?$!-]/.test(this.src[this.pos + 1] ?? '')) {
            literal = false;
            this.#dollar();
          } else if (ch === '`') {
            literal = false;
            this.pos += 1;
            this.#nested('`');
          } else {
            value += ch;
            this.pos += 1;
          }
        }
        this.pos += 1;
      } else if (c === '$' && /[({'A-Za-z_0-9@*#?$!-]/.test(this.src[this.pos + 1] ?? '')) {
        literal = false;
        this.#dollar();
      } else if (c === '`') {
        literal = false;
        this.pos += 1;
        this.#nested('`');
      } else {
        value += c;
        this.pos += 1;
      }
    }
    // `2>file`: the 2 is the redirection's file descriptor.
    if (literal && /^\d+$/.test(value) && /[<>]/.test(this.src[this.pos] ?? '')) return { fd: true };
    return literal ? { literal: value } : {};
  }

  /** A simple command: its program, and what a `sudo`, `timeout`, `env`, … in front of it runs. */
  #simple(all: readonly Word[]): void {
    let words = [...all];
    while (words.length > 0) {
      const first = words[0]?.literal;
      if (first !== undefined && (KEYWORDS.has(first) || ASSIGNMENT.test(first))) words = words.slice(1);
      else break;
    }
    const first = words[0]?.literal;
    if (first === undefined || ENDERS.has(first) || first === 'for' || first === 'select') return;
    if (first === 'function') {
      const name = words[1]?.literal?.replace(/\(\)$/, '');
      if (name) this.functions.add(name);
      return;
    }
    this.#program(first);
    const rest = words.slice(1);
    const prefixed = Object.hasOwn(PREFIX_OPTIONS, first) ? PREFIX_OPTIONS[first] : undefined;
    if (first === 'sudo') {
      this.#sudo(rest);
    } else if (prefixed) {
      // `command -v x` looks x up; `command x` runs it.
      if (first === 'command' && rest.some((w) => w.literal === '-v' || w.literal === '-V')) return;
      // env's assignments are skipped as a simple command's are.
      this.#simple(skipOptions(rest, new Set(prefixed.withValue), prefixed.positional));
    } else if (first === 'bash' || first === 'sh') {
      const c = rest.findIndex((w) => /^-[a-z]*c[a-z]*$/.test(w.literal ?? ''));
      const inner = c === -1 ? undefined : rest[c + 1]?.literal;
      if (inner !== undefined) {
        const nested = scriptCommands(inner);
        for (const program of nested.programs) this.#program(program);
        this.sudo.push(...nested.sudo);
      }
    }
  }

  #program(name: string): void {
    if (PROGRAM.test(name) && !BUILTINS.has(name) && !this.programs.includes(name)) {
      this.programs.push(name);
    }
  }

  #sudo(words: readonly Word[]): void {
    let runAs: string | undefined;
    let i = 0;
    for (; i < words.length; i += 1) {
      const w = words[i]?.literal;
      if (w === undefined) return;
      if (w === '--') {
        i += 1;
        break;
      }
      if (!w.startsWith('-')) break;
      if (w === '-u' || w === '--user') {
        runAs = words[i + 1]?.literal;
        if (runAs === undefined) return;
        i += 1;
      } else if (w.startsWith('--user=')) {
        runAs = w.slice('--user='.length);
      } else if (/^-u./.test(w)) {
        runAs = w.slice(2);
      } else if (SUDO_VALUE_OPTIONS.has(w)) {
        i += 1;
      } else if (['-l', '-v', '-k', '-K', '-e', '-V', '--list', '--validate'].includes(w)) {
        // Not a command sudo runs for the script.
        return;
      }
    }
    const command = words.slice(i);
    if (command.length === 0) return;
    this.#simple(command);
    if (command.every((w) => w.literal !== undefined)) {
      const argv = command.map((w) => w.literal as string);
      const known = this.sudo.some(
        (s) => s.runAs === runAs && s.argv.length === argv.length && s.argv.every((a, j) => a === argv[j]),
      );
      if (!known) this.sudo.push({ ...(runAs !== undefined ? { runAs } : {}), argv });
    }
  }
}

/** The words after a prefix command's options (and `positional` more, such as timeout's duration). */
function skipOptions(words: readonly Word[], withValue: ReadonlySet<string>, positional: number): Word[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]?.literal;
    if (w === '--') {
      i += 1;
      break;
    }
    if (w === undefined || !w.startsWith('-') || w === '-') break;
    i += withValue.has(w) ? 2 : 1;
  }
  return words.slice(i + positional);
}

/**
 * The programs a bash script runs and the commands it runs with sudo; `functions` names functions
 * defined elsewhere (a recipe the script was cut from), which are not programs either.
 *
 * @example
 * scriptCommands('pg_dump --clean | restic backup --stdin\nsudo systemctl restart -- app')
 * // { programs: ['pg_dump', 'restic', 'sudo', 'systemctl'], sudo: [{ argv: ['systemctl', 'restart', '--', 'app'] }] }
 */
export function scriptCommands(script: string, functions: readonly string[] = []): ScriptCommands {
  const reader = new Reader(script);
  reader.list();
  return {
    programs: reader.programs.filter((p) => !reader.functions.has(p) && !functions.includes(p)),
    sudo: reader.sudo,
  };
}
