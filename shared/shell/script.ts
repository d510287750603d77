/**
 * The one place where values meet a shell: validation patterns, quoting, and the rendering of
 * target scripts into the exact script a host runs.
 */
import type { Hosts } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';

/**
 * A git ref a deploy may name: a branch, a tag or a commit. It starts with a letter or digit (so it
 * can never be read as an option), has no `..`, `//`, spaces, quotes or shell metacharacters, and is
 * at most 128 characters.
 */
export const REF_PATTERN = /^(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*[./]$)[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/**
 * Quotes a value for bash so that it is read as exactly one word, whatever it contains.
 *
 * @example
 * shellQuote("it's") // 'it'\''s'
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new InvalidInputError('a shell argument cannot contain a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Checks a ref against {@link REF_PATTERN}.
 *
 * @returns the ref, unchanged
 * @throws InvalidInputError naming the ref and what a ref may contain
 */
export function validateRef(ref: unknown): string {
  if (typeof ref !== 'string' || !REF_PATTERN.test(ref)) {
    throw new InvalidInputError(
      `ref ${JSON.stringify(ref)} is not a valid ref: expected a branch, tag or commit of letters, digits, ".", "_", "/" and "-", starting with a letter or digit, at most 128 characters`,
    );
  }
  return ref;
}

/**
 * The file a step may write a reason to, to end its script after it, successfully: the rollback
 * of a host the run did not change stops after its first step. Empty unless a step wrote to it.
 */
export const SKIP_REST_VARIABLE = 'STEPOPS_SKIP_REST';

/** One step of a rendered script. */
export interface ScriptStep {
  name: string;
  script: string;
  /** Seconds before the step is killed. */
  timeout: number;
  /** Runs on the run's first host only (`STEPOPS_HOST_INDEX` 0); the others skip it. */
  runOnce?: boolean;
}

/** The hosts of a run, so that each host knows its place: `STEPOPS_HOST_INDEX` and `STEPOPS_HOST_COUNT`. */
export interface RunHosts {
  /** The ids of the hosts this script is sent to (`i-…`, or `local:…`), in order. */
  ids: readonly string[];
  /** Index of the first of them among all the hosts of the run (0 for the first batch). */
  first: number;
  /** Hosts in the whole run. */
  count: number;
}

/** Everything that decides how a script runs on a host. */
export interface RenderOptions {
  /** Shown in the header comment, e.g. `deploy datizmo`. */
  title: string;
  /** Exported to every step as `STEPOPS_<KEY>`; keys are upper-case letters and underscores. */
  env: Record<string, string>;
  /** Directory the steps run in; omitted for local hosts, where the runner sets it. */
  workingDirectory?: string;
  /** Unix user the steps run as; `root` or omitted runs them as the invoking user. */
  user?: string;
  /** Runs each step in a login shell (`bash --login`), which reads /etc/profile and the user's profile. */
  loginShell?: boolean;
  /** Absolute directories put before `PATH` in each step (after any login profile ran). */
  path?: readonly string[];
  /** The hosts the script is sent to; without them no host index is set (and run-once steps run). */
  hosts?: RunHosts;
  steps: readonly ScriptStep[];
}

/** Lines of the failing step's output the script prints last, on stderr. */
export const FAILURE_SUMMARY_LINES = 40;
/**
 * Bytes of that summary at most: SSM returns only the first 8,000 characters of stderr (and the
 * first 24,000 of stdout), so the summary fits in what it returns, with the markers around it.
 */
export const FAILURE_SUMMARY_BYTES = 4_000;

/**
 * The function every rendered script runs its steps with: the step's output goes to a log in a
 * temporary directory, which is then printed to stdout (the full output, for the SSM console and
 * CloudWatch Logs) and removed with the directory when the script ends;
 * when the step fails, its last lines are printed again on stderr, bounded, with the step's name
 * and exit code, and the script exits with that code. SSM keeps the *head* of each stream, so the
 * end of a long output (where the error is) reaches the alert through this summary.
 */
const STEP_FUNCTION = [
  'stepops_logs=$(mktemp -d "${TMPDIR:-/tmp}/stepops.XXXXXX")',
  '# Runs one step: its output to a log on the host, then to stdout; on failure its last lines to stderr.',
  'stepops_step() {',
  '  local label=$1 log=$2 status=0',
  '  shift 2',
  '  echo "==> ${label}"',
  '  "$@" >"${log}" 2>&1 || status=$?',
  '  cat -- "${log}"',
  '  if [ "${status}" -ne 0 ]; then',
  '    {',
  '      echo "==> last lines of ${label} (its full output is on stdout)"',
  `      tail -n ${FAILURE_SUMMARY_LINES} -- "\${log}" | tail -c ${FAILURE_SUMMARY_BYTES}`,
  '      if [ -n "$(tail -c 1 -- "${log}")" ]; then echo; fi',
  '      echo "==> ${label} failed with exit code ${status}"',
  '    } >&2',
  '    exit "${status}"',
  '  fi',
  '}',
];

/**
 * Sets `STEPOPS_HOST_INDEX` from the host's own id: `STEPOPS_HOST`, which the local runner sets, or
 * `AWS_SSM_INSTANCE_ID`, which SSM Run Command sets (the local runner's first, so that a local run
 * started on an EC2 instance still finds its local host).
 */
function hostIndexLines(hosts: RunHosts): string[] {
  return [
    'stepops_host=${STEPOPS_HOST:-${AWS_SSM_INSTANCE_ID:-}}',
    'case "$stepops_host" in',
    ...hosts.ids.map((id, i) => `  ${shellQuote(id)}) STEPOPS_HOST_INDEX=${hosts.first + i} ;;`),
    `  *) echo "stepops: this host (\\"$stepops_host\\") is not one of the hosts of this command" >&2; exit 1 ;;`,
    'esac',
    `export STEPOPS_HOST_INDEX STEPOPS_HOST_COUNT=${Math.trunc(hosts.count)}`,
  ];
}

/**
 * The `bash` command line that runs a piece of a target's script on its hosts: strict mode, a login
 * shell if the hosts ask for one, their extra `PATH` entries first. Every script a host runs (deploy
 * steps, dumps, restore tests) runs its target's code through it.
 *
 * @example
 * hostShell('go version', { path: ['/usr/local/go/bin'] }) // `bash -euo pipefail -c 'export PATH=…'`
 */
export function hostShell(script: string, options: Pick<RenderOptions, 'loginShell' | 'path'>): string {
  const path = options.path?.length
    ? `export PATH=${shellQuote(options.path.map((dir) => validatePathEntry(dir)).join(':'))}":$PATH"\n`
    : '';
  return options.loginShell
    ? `bash --login -c ${shellQuote(`set -euo pipefail\n${path}${script}`)}`
    : `bash -euo pipefail -c ${shellQuote(`${path}${script}`)}`;
}

function validatePathEntry(dir: string): string {
  if (!/^\/[A-Za-z0-9._/@+-]*$/.test(dir)) {
    throw new InvalidInputError(
      `PATH entry ${JSON.stringify(dir)} is not an absolute path of plain characters`,
    );
  }
  return dir;
}

/**
 * Renders steps into one bash script: strict mode, the `STEPOPS_*` variables quoted, each step in
 * its own `bash` under `timeout`, a `==> step` marker before each, each step's output kept in a log
 * on the host, and on failure a bounded summary (the failing step's name, exit code and last
 * lines) printed last on stderr, so that the first 8,000 characters SSM returns of it say where and
 * why the script failed. The script's exit code is the failing step's.
 *
 * @example
 * renderScript({ title: 'deploy demo', env: { REF: 'v2' }, steps: [{ name: 'pull', script: 'git pull', timeout: 60 }] });
 */
export function renderScript(options: RenderOptions): string {
  const envNames = Object.keys(options.env).map((key) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(key))
      throw new InvalidInputError(`invalid environment variable name "${key}"`);
    return `STEPOPS_${key}`;
  });
  if (options.hosts) envNames.push('STEPOPS_HOST_INDEX', 'STEPOPS_HOST_COUNT');
  const lines = [
    '#!/usr/bin/env bash',
    `# stepops ${options.title.replace(/[^\w .:/@-]/g, '_')}`,
    'set -euo pipefail',
    ...Object.entries(options.env).map(([key, value]) => `export STEPOPS_${key}=${shellQuote(value)}`),
  ];
  if (options.hosts) lines.push(...hostIndexLines(options.hosts));
  if (options.workingDirectory) lines.push(`cd ${shellQuote(options.workingDirectory)}`);
  if (options.steps.length > 0) lines.push(...STEP_FUNCTION);
  const runAs = options.user && options.user !== 'root' ? options.user : undefined;
  const stoppable = options.steps.length > 1;
  if (stoppable) {
    // A step that writes a reason here ends the script after it, successfully (see SKIP_REST_VARIABLE).
    envNames.push(SKIP_REST_VARIABLE);
    lines.push(
      `${SKIP_REST_VARIABLE}=$(mktemp "\${TMPDIR:-/tmp}/stepops-skip.XXXXXX")`,
      `export ${SKIP_REST_VARIABLE}`,
      ...(runAs ? [`chown -- ${shellQuote(runAs)} "$${SKIP_REST_VARIABLE}"`] : []),
    );
  }
  // One trap for what the script made: a later `trap … EXIT` would replace an earlier one.
  const temporary = [
    ...(options.steps.length > 0 ? ['"${stepops_logs}"'] : []),
    ...(stoppable ? [`"$${SKIP_REST_VARIABLE}"`] : []),
  ];
  if (temporary.length > 0) lines.push(`trap 'rm -rf -- ${temporary.join(' ')}' EXIT`);
  const asUser = runAs
    ? `sudo -u ${shellQuote(runAs)} -H --preserve-env=${envNames.join(',') || 'PATH'} -- `
    : '';
  options.steps.forEach((step, i) => {
    const label = `step ${i + 1}/${options.steps.length}: ${step.name}`;
    const once = step.runOnce === true && options.hosts !== undefined;
    const indent = once ? '  ' : '';
    lines.push('');
    if (once) lines.push('if [ "$STEPOPS_HOST_INDEX" = 0 ]; then');
    lines.push(
      ...[
        '# shellcheck disable=SC2016 # the step is quoted on purpose: its own shell expands it',
        `stepops_step ${shellQuote(label)} "\${stepops_logs}/step-${i + 1}.log" ${asUser}timeout ${Math.trunc(step.timeout)} ${hostShell(step.script, options)}`,
      ].map((line) => `${indent}${line}`),
    );
    if (once) {
      lines.push(
        'else',
        `  echo ${shellQuote(`==> ${label}: skipped, it runs once, on the first host`)}`,
        'fi',
      );
    }
    if (stoppable && i < options.steps.length - 1) {
      lines.push(
        `if [ -s "$${SKIP_REST_VARIABLE}" ]; then`,
        `  echo "==> $(cat -- "$${SKIP_REST_VARIABLE}"): ${i + 1 === options.steps.length - 1 ? `step ${options.steps.length}` : `steps ${i + 2} to ${options.steps.length}`} skipped"`,
        '  exit 0',
        'fi',
      );
    }
  });
  return `${lines.join('\n')}\n`;
}

/**
 * How a target's hosts run scripts: the working directory and run-as user of `ec2` hosts, and the
 * login shell and extra `PATH` entries any hosts declare. Every script a host runs (deploy, probe,
 * backup, runbook) is rendered with these.
 *
 * @example
 * renderScript({ title: 'deploy zmanim', env, steps, ...hostScriptOptions(target.hosts) });
 */
export function hostScriptOptions(
  hosts: Hosts,
): Pick<RenderOptions, 'workingDirectory' | 'user' | 'loginShell' | 'path'> {
  return {
    ...(hosts.type === 'ec2' ? { workingDirectory: hosts.workingDirectory, user: hosts.user } : {}),
    ...(hosts.loginShell ? { loginShell: true } : {}),
    ...(hosts.path?.length ? { path: hosts.path } : {}),
  };
}
