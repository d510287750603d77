/**
 * The script `stepops check` runs on each host, and what its answers mean. The script changes
 * nothing: it runs each check as the run-as user, in the shell the steps get (login shell and
 * extra PATH entries as the target declares), and prints one line per check:
 *
 * ```
 * STEPOPS_CHECK <id> <exit code> <base64 of the check's output, its last 1,500 bytes>
 * ```
 */
import type { Target } from '../config/schema.ts';
import { hostScriptOptions, hostShell, shellQuote } from '../shell/script.ts';
import type { HostNeeds, ScratchDatabaseNeed, SudoNeed } from './needs.ts';

/** One check's answer, as a host reported it (or did not). */
export type CheckStatus = 'pass' | 'fail' | 'warn';

/** One item of the report. */
export interface CheckItem {
  /** The host it is about (`i-0abc…`, `local:lab/app`); none for the stage's resources. */
  host?: string;
  name: string;
  status: CheckStatus;
  detail: string;
  /** How to fix it, when it did not pass. */
  fix?: string;
}

/** Seconds each check may take on a host (a `git fetch` gets {@link FETCH_SECONDS}). */
const CHECK_SECONDS = 30;
const FETCH_SECONDS = 90;
/** Bytes of a check's output reported (its end, where an error says why). */
const DETAIL_BYTES = 1_500;

/** Seconds the whole script may run: every check at its limit. */
export function checkScriptSeconds(needs: HostNeeds): number {
  const checks = 4 + needs.sudo.length + needs.scratchDatabases.length;
  return checks * CHECK_SECONDS + FETCH_SECONDS;
}

/** Where and as whom a host runs the checks. */
export interface CheckHost {
  /** The working directory: `hosts.workingDirectory`, or a local host's own directory. */
  workingDirectory: string;
  /** The run-as user, for messages (a local host: whoever runs stepops). */
  user: string;
}

/** The sudoers user spec of a command: `(postgres)` or `(root)`. */
function runAsText(need: Pick<SudoNeed, 'runAs'>): string {
  return need.runAs ?? 'root';
}

function sudoList(need: Pick<SudoNeed, 'runAs' | 'argv'>): string {
  const user = need.runAs ? ` -u ${shellQuote(need.runAs)}` : '';
  return `sudo -n -l${user} -- ${need.argv.map(shellQuote).join(' ')}`;
}

/**
 * The script of one host: every check of the target's needs, each reported on its own line.
 *
 * @example
 * renderCheckScript(target, hostNeeds(target), { workingDirectory: '/opt/zmanim', user: 'ec2-user' });
 */
export function renderCheckScript(target: Target, needs: HostNeeds, host: CheckHost): string {
  const options = hostScriptOptions(target.hosts);
  const ec2User = target.hosts.type === 'ec2' && target.hosts.user !== 'root' ? target.hosts.user : undefined;
  const asUser = ec2User ? `sudo -n -u ${shellQuote(ec2User)} -H -- ` : '';
  const dir = shellQuote(host.workingDirectory);
  const lines = [
    '#!/usr/bin/env bash',
    `# stepops check ${target.name}: reads, changes nothing`,
    'set -uo pipefail',
    'stepops_report() {',
    `  printf 'STEPOPS_CHECK %s %s %s\\n' "$1" "$2" "$(printf '%s' "$3" | tail -c ${DETAIL_BYTES} | base64 | tr -d '\\n')"`,
    '}',
  ];
  const check = (id: string, body: string, seconds = CHECK_SECONDS, user = true) => {
    lines.push(
      '# shellcheck disable=SC2016 # quoted on purpose: its own shell expands it',
      `out=$(${user ? asUser : ''}timeout ${seconds} ${hostShell(body, user ? options : {})} 2>&1 </dev/null)`,
      `stepops_report ${id} "$?" "$out"`,
    );
  };
  if (ec2User) check('user', 'id -un');
  check(
    'workdir',
    [`if [ ! -d ${dir} ]; then exit 3; fi`, `if [ ! -w ${dir} ]; then exit 7; fi`, `echo ${dir}`].join('\n'),
  );
  if (needs.deploys) {
    check(
      'git',
      [
        `cd -- ${dir} || exit 3`,
        'if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then exit 4; fi',
        'if ! url=$(git remote get-url origin 2>/dev/null); then exit 5; fi',
        'echo "origin: $url"',
        'GIT_TERMINAL_PROMPT=0 git fetch --dry-run origin || exit 6',
      ].join('\n'),
      FETCH_SECONDS,
    );
  }
  const missing = (programs: readonly string[]) =>
    [
      "missing=''",
      `for tool in ${programs.map(shellQuote).join(' ')}; do`,
      '  command -v -- "$tool" >/dev/null 2>&1 || missing="$missing $tool"',
      'done',
      'if [ -n "$missing" ]; then echo "STEPOPS_MISSING$missing"; exit 1; fi',
      `echo ${shellQuote(`found: ${programs.join(' ')}`)}`,
    ].join('\n');
  if (needs.programs.length > 0) check('tools', missing(needs.programs.map((p) => p.program)));
  check('wrapper', missing(needs.wrapperPrograms.map((p) => p.program)), CHECK_SECONDS, false);
  needs.sudo.forEach((need, i) => {
    check(
      `sudo-${i}`,
      [
        `echo "STEPOPS_PATH $(command -v -- ${shellQuote(need.argv[0] ?? '')} || echo ${shellQuote(need.argv[0] ?? '')})"`,
        sudoList(need),
      ].join('\n'),
    );
  });
  needs.scratchDatabases.forEach((_, i) => {
    check(
      `scratch-${i}`,
      ['true', 'createdb', 'dropdb'].map((cmd) => sudoList({ runAs: 'postgres', argv: [cmd] })).join('\n'),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** One line a host printed: a check, its exit code and its output. */
export interface CheckLine {
  id: string;
  code: number;
  output: string;
}

/**
 * The check lines of a host's output (other lines, a login shell's greeting, are ignored).
 *
 * @example
 * parseCheckOutput('STEPOPS_CHECK workdir 0 L29wdC9hcHA=\n') // [{ id: 'workdir', code: 0, output: '/opt/app' }]
 */
export function parseCheckOutput(stdout: string): CheckLine[] {
  const found: CheckLine[] = [];
  for (const match of stdout.matchAll(/^STEPOPS_CHECK ([a-z0-9-]+) (\d+) ?([A-Za-z0-9+/=]*)$/gm)) {
    found.push({
      id: match[1] as string,
      code: Number(match[2]),
      output: Buffer.from(match[3] ?? '', 'base64')
        .toString('utf8')
        .trim(),
    });
  }
  return found;
}

/** Where to get a program, for the common ones (Debian/Ubuntu package, else a hint). */
const PACKAGES: Record<string, string> = {
  pg_dump: 'postgresql-client',
  psql: 'postgresql-client',
  pg_restore: 'postgresql-client',
  createdb: 'postgresql-client',
  dropdb: 'postgresql-client',
  mongodump: 'mongodb-database-tools',
  mongorestore: 'mongodb-database-tools',
  'redis-cli': 'redis-tools',
  aws: 'the AWS CLI v2 (awscli.amazonaws.com)',
  docker: 'docker.io or docker-ce',
  pm2: 'npm install -g pm2',
  go: 'go.dev/dl, with its bin directory in hosts.path',
  sha256sum: 'coreutils',
  timeout: 'coreutils',
  mktemp: 'coreutils',
  base64: 'coreutils',
};

function installHint(programs: readonly string[]): string {
  const hints = programs.map((p) => (PACKAGES[p] ? `${p} (${PACKAGES[p]})` : p));
  return hints.join(', ');
}

function usedBy(needs: readonly { program: string; usedBy: string[] }[], program: string): string {
  const where = needs.find((n) => n.program === program)?.usedBy ?? [];
  return where.length > 2 ? `${where.slice(0, 2).join(', ')}, …` : where.join(', ');
}

function sudoersLine(user: string, need: SudoNeed, path: string): string {
  return `${user} ALL=(${runAsText(need)}) NOPASSWD: ${[path, ...need.argv.slice(1)].join(' ')}`;
}

function scratchItem(host: CheckHost, need: ScratchDatabaseNeed, line: CheckLine): Omit<CheckItem, 'host'> {
  const name = `scratch database of backup "${need.backup}"`;
  if (line.code === 0) {
    return { name, status: 'pass', detail: `${host.user} may run createdb and dropdb as postgres` };
  }
  const role = need.role ?? "the app's PostgreSQL role";
  return {
    name,
    status: 'warn',
    detail: `its restore test creates the scratch database as ${role} (${line.output.split('\n')[0] || 'sudo -u postgres is not allowed'})`,
    fix: `the role needs CREATEDB (ALTER ROLE ${need.role ?? '<role>'} CREATEDB), or, with PostgreSQL on this host, the sudoers line "${host.user} ALL=(postgres) NOPASSWD: /usr/bin/true, /usr/bin/createdb, /usr/bin/dropdb"`,
  };
}

/**
 * What a host's check lines mean: one report item per check, with how to fix what failed. A check
 * the host did not answer (the script was cut short) fails.
 *
 * @example
 * checkItems(target, needs, host, 'i-0abc', parseCheckOutput(stdout))
 */
export function checkItems(
  target: Target,
  needs: HostNeeds,
  host: CheckHost,
  hostId: string,
  lines: readonly CheckLine[],
): CheckItem[] {
  const items: CheckItem[] = [];
  const add = (item: Omit<CheckItem, 'host'>) => items.push({ host: hostId, ...item });
  const line = (id: string): CheckLine =>
    lines.find((l) => l.id === id) ?? { id, code: -1, output: 'the host did not report this check' };
  const dir = host.workingDirectory;
  const { user } = host;
  const repository = target.repository ? `https://github.com/${target.repository}` : '<repository URL>';
  const clone = `sudo -u ${user} git clone ${repository} ${dir}`;
  const ec2User = target.hosts.type === 'ec2' && target.hosts.user !== 'root';
  if (ec2User) {
    const l = line('user');
    add(
      l.code === 0
        ? { name: `run as ${user}`, status: 'pass', detail: `root runs commands as ${user} with sudo` }
        : {
            name: `run as ${user}`,
            status: 'fail',
            detail: l.output || `exit ${l.code}`,
            fix: `create the user ${user} (hosts.user) and install sudo: stepops runs every step as "sudo -u ${user}"`,
          },
    );
  }
  const workdir = line('workdir');
  const workdirItem: Omit<CheckItem, 'host'> =
    workdir.code === 0
      ? { name: 'working directory', status: 'pass', detail: `${dir} exists, writable by ${user}` }
      : workdir.code === 3
        ? {
            name: 'working directory',
            status: 'fail',
            detail: `${dir} does not exist`,
            fix: needs.deploys
              ? `clone the repository there: ${clone}`
              : `create it: sudo install -d -o ${user} ${dir}`,
          }
        : workdir.code === 7
          ? {
              name: 'working directory',
              status: 'fail',
              detail: `${dir} is not writable by ${user}`,
              fix: `make ${user} its owner: sudo chown -R ${user} ${dir}`,
            }
          : { name: 'working directory', status: 'fail', detail: workdir.output || `exit ${workdir.code}` };
  add(workdirItem);
  if (needs.deploys) {
    const git = line('git');
    const name = 'git clone';
    const fixes: Record<number, Omit<CheckItem, 'host' | 'name'>> = {
      0: { status: 'pass', detail: `git fetch works (${git.output.split('\n')[0] ?? ''})` },
      3: { status: 'fail', detail: `${dir} does not exist`, fix: `clone the repository there: ${clone}` },
      4: { status: 'fail', detail: `${dir} is not a git clone`, fix: `clone the repository there: ${clone}` },
      5: {
        status: 'fail',
        detail: `${dir} has no remote "origin"`,
        fix: `sudo -u ${user} git -C ${dir} remote add origin ${repository}`,
      },
      6: {
        status: 'fail',
        detail: `git fetch from origin (${/^origin: (.*)$/m.exec(git.output)?.[1] ?? '?'}) fails as ${user}: ${git.output
          .split('\n')
          .filter((l) => !l.startsWith('origin: '))
          .slice(-3)
          .join(' ')}`,
        fix: `give ${user} read access: a read-only deploy key (ssh-keygen -t ed25519 as ${user}, the public key added to the repository's deploy keys) and the server's host key in ~${user}/.ssh/known_hosts (ssh-keyscan github.com)`,
      },
      124: {
        status: 'fail',
        detail: `git fetch took more than ${FETCH_SECONDS} s`,
        fix: 'check the network path to the repository',
      },
    };
    add({ name, ...(fixes[git.code] ?? { status: 'fail', detail: git.output || `exit ${git.code}` }) });
  }
  const tools = (id: string, needed: HostNeeds['programs'], name: string, shell: string) => {
    if (needed.length === 0) return;
    const l = line(id);
    const missing = /STEPOPS_MISSING (.+)$/m.exec(l.output)?.[1]?.trim().split(/\s+/);
    if (l.code === 0) {
      add({
        name,
        status: 'pass',
        detail: `${needed.length} found: ${needed.map((n) => n.program).join(' ')}`,
      });
    } else if (l.code === 1 && missing) {
      add({
        name,
        status: 'fail',
        detail: `not on the PATH of ${shell}: ${missing.map((m) => `${m} (${usedBy(needed, m)})`).join('; ')}`,
        fix: `install ${installHint(missing)}, or add its directory to hosts.path`,
      });
    } else {
      add({ name, status: 'fail', detail: `could not look for them: ${l.output || `exit ${l.code}`}` });
    }
  };
  tools(
    'tools',
    needs.programs,
    'tools of the steps',
    `${user}'s${target.hosts.loginShell ? ' login' : ''} shell`,
  );
  tools('wrapper', needs.wrapperPrograms, "tools of stepops' wrapper", "the command's shell");
  needs.sudo.forEach((need, i) => {
    const l = line(`sudo-${i}`);
    const path = /STEPOPS_PATH (\S+)/.exec(l.output)?.[1] ?? (need.argv[0] as string);
    const command = `sudo ${need.runAs ? `-u ${need.runAs} ` : ''}${need.argv.join(' ')}`;
    const why = l.output.replace(/^STEPOPS_PATH .*\n?/m, '').trim();
    if (l.code === 0) {
      add({ name: command, status: 'pass', detail: `${user} may run it without a password` });
    } else {
      add({
        name: command,
        status: 'fail',
        detail: `${/password is required/.test(why) ? 'needs a password' : 'not allowed'} for ${user} (${why || `exit ${l.code}`}); used by ${need.usedBy.join(', ')}`,
        fix: `add to /etc/sudoers.d/stepops (visudo -f): ${sudoersLine(user, need, path)}`,
      });
    }
  });
  needs.scratchDatabases.forEach((need, i) => {
    add(scratchItem(host, need, line(`scratch-${i}`)));
  });
  return items;
}
