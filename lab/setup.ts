/**
 * The lab: a real sample app in a real git repository, and a directory that plays a `local` host.
 *
 * Everything lives under one lab directory (default `.stepops/demo`, see {@link defaultLabDir}):
 *
 * ```
 * <lab>/.stepops-lab      marker: this directory was made by setupLab and may be wiped by it
 * <lab>/origin/           git repository of the app: three commits tagged v1, v2, v3
 * <lab>/host/             a clone of origin: the "host" a deploy updates (git checkout + restart)
 * <lab>/bin/app-ctl.sh    start|stop|restart|status of the app (the deploy steps call it)
 * <lab>/lab.env           LAB_PORT and LAB_NODE, read by app-ctl.sh
 * <lab>/run/app.pid       pid of the running app; run/app.log its output
 * ```
 *
 * The app's source is `lab/app/` in this repository; each version adds its own `release.json`.
 * v3 requires a config file that no host has, so its `/health` answers 503.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stepopsHome } from '../shared/drivers/local/home.ts';
import { shellQuote } from '../shared/shell/script.ts';

const exec = promisify(execFile);

/** The port the demo's app listens on (and the demo target probes). */
export const DEMO_PORT = 47613;
/**
 * The demo's lab directory unless one is named: `demo` in the stepops state directory
 * (`.stepops/demo` in the current directory, or under `$STEPOPS_HOME`), beside the runs the
 * operator's commands read.
 *
 * @example
 * defaultLabDir() // '/home/ana/app/.stepops/demo'
 */
export function defaultLabDir(): string {
  return path.join(stepopsHome(), 'demo');
}
/** The app's source: copied into every version. */
export const APP_TEMPLATE_DIR = path.join(import.meta.dirname, 'app');
/** The process control script copied to `<lab>/bin/app-ctl.sh`. */
export const APP_CTL_SOURCE = path.join(import.meta.dirname, 'bin', 'app-ctl.sh');
/** Written in every lab directory; a directory without it is never wiped. */
export const LAB_MARKER = '.stepops-lab';

/** What a version of the app declares in its `release.json`. */
export interface Release {
  version: string;
  greeting: string;
  /** Files (relative to the app directory) whose absence makes `/health` answer 503. */
  requires: string[];
}

/** The three versions of the lab app, in commit order. */
export const LAB_RELEASES: readonly { tag: string; message: string; release: Release }[] = [
  {
    tag: 'v1',
    message: 'v1: first release of the lab app',
    release: { version: 'v1', greeting: 'Hello from the lab app v1', requires: [] },
  },
  {
    tag: 'v2',
    message: 'v2: friendlier greeting',
    release: { version: 'v2', greeting: 'Hello again, from the lab app v2', requires: [] },
  },
  {
    tag: 'v3',
    message: 'v3: read payment settings from config/payments.json',
    release: {
      version: 'v3',
      greeting: 'Hello from the lab app v3, now with payments',
      requires: ['config/payments.json'],
    },
  },
];

/** The files of a lab directory. */
export interface LabPaths {
  dir: string;
  origin: string;
  host: string;
  ctl: string;
  env: string;
  runDir: string;
  pidFile: string;
  logFile: string;
}

/** Options of {@link setupLab}. */
export interface LabOptions {
  /** The lab directory; {@link defaultLabDir} when omitted. */
  dir?: string;
  /** The port the app listens on; {@link DEMO_PORT} when omitted. */
  port?: number;
  /** The node binary that runs the app; the one running this code when omitted. */
  node?: string;
}

/** The lab was asked to do something unsafe or impossible (e.g. wipe a directory it did not make). */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

/**
 * The paths of a lab directory (nothing is created).
 *
 * @example
 * labPaths('/tmp/lab').host // '/tmp/lab/host'
 */
export function labPaths(dir: string = defaultLabDir()): LabPaths {
  const root = path.resolve(dir);
  const runDir = path.join(root, 'run');
  return {
    dir: root,
    origin: path.join(root, 'origin'),
    host: path.join(root, 'host'),
    ctl: path.join(root, 'bin', 'app-ctl.sh'),
    env: path.join(root, 'lab.env'),
    runDir,
    pidFile: path.join(runDir, 'app.pid'),
    logFile: path.join(runDir, 'app.log'),
  };
}

/** Git with an identity and no signing, so that the lab works where no git identity is configured. */
async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec(
    'git',
    [
      '-c',
      'user.name=stepops lab',
      '-c',
      'user.email=lab@stepops.invalid',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'tag.gpgsign=false',
      '-c',
      'init.defaultBranch=main',
      '-c',
      'advice.detachedHead=false',
      ...args,
    ],
    { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
  );
  return stdout.trim();
}

/** True when the process runs; a zombie (ended, not yet reaped by its parent) counts as ended. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True when the process looks like the lab app (Linux: its command line), so a reused pid is left alone. */
async function isLabApp(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined ? false : cmdline.split('\0').some((arg) => arg.endsWith('server.mjs'));
}

/**
 * The pid recorded in the lab's pid file, if the process is alive.
 *
 * @example
 * if (await runningAppPid('/tmp/lab')) console.log('the lab app runs');
 */
export async function runningAppPid(dir: string = defaultLabDir()): Promise<number | undefined> {
  const text = await readFile(labPaths(dir).pidFile, 'utf8').catch(() => undefined);
  const pid = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Stops the lab app recorded in the lab's pid file, if it runs: SIGTERM, then SIGKILL after 5 s.
 *
 * @returns the pid that was stopped, or undefined when nothing ran
 * @example
 * await stopLabApp('/tmp/lab');
 */
export async function stopLabApp(dir: string = defaultLabDir()): Promise<number | undefined> {
  const paths = labPaths(dir);
  const pid = await runningAppPid(dir);
  if (pid === undefined || !(await isLabApp(pid))) {
    await rm(paths.pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await rm(paths.pidFile, { force: true });
  return pid;
}

/** Removes the lab directory, refusing any non-empty directory setupLab did not make. */
async function wipe(paths: LabPaths): Promise<void> {
  if (!existsSync(paths.dir)) return;
  const entries = await readdir(paths.dir);
  if (entries.length > 0 && !entries.includes(LAB_MARKER)) {
    throw new LabError(
      `${paths.dir} is not empty and was not made by the stepops lab (no ${LAB_MARKER} file): not wiping it`,
    );
  }
  await rm(paths.dir, { recursive: true, force: true });
}

/**
 * Creates (or re-creates) a lab: stops the app a previous run left running, wipes the lab
 * directory, builds the app's git repository with v1, v2 and v3 tagged, clones it as the host at v1,
 * and installs the process control script. The app is not started.
 *
 * @example
 * const lab = await setupLab({ dir: '/tmp/lab', port: 47700 });
 * await startLabApp(lab);
 * @throws LabError when the directory holds files the lab did not make
 */
export async function setupLab(options: LabOptions = {}): Promise<LabPaths> {
  const paths = labPaths(options.dir);
  const port = options.port ?? DEMO_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`invalid port ${port}`);
  await stopLabApp(paths.dir);
  await wipe(paths);

  await mkdir(paths.origin, { recursive: true });
  await writeFile(
    path.join(paths.dir, LAB_MARKER),
    'Made by stepops lab/setup.ts; wiped and re-created by `stepops demo`.\n',
  );
  await git(paths.origin, ['init', '--quiet', '-b', 'main']);
  const sources = (await readdir(APP_TEMPLATE_DIR)).sort();
  for (const { tag, message, release } of LAB_RELEASES) {
    for (const file of sources)
      await copyFile(path.join(APP_TEMPLATE_DIR, file), path.join(paths.origin, file));
    await writeFile(path.join(paths.origin, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);
    await git(paths.origin, ['add', '--all']);
    await git(paths.origin, ['commit', '--quiet', '-m', message]);
    await git(paths.origin, ['tag', tag]);
  }

  await git(paths.dir, ['clone', '--quiet', paths.origin, paths.host]);
  await git(paths.host, ['checkout', '--quiet', '--detach', LAB_RELEASES[0]!.tag]);

  await mkdir(path.dirname(paths.ctl), { recursive: true });
  await copyFile(APP_CTL_SOURCE, paths.ctl);
  await chmod(paths.ctl, 0o755);
  await mkdir(paths.runDir, { recursive: true });
  await writeFile(
    paths.env,
    `# Written by stepops lab/setup.ts; read by bin/app-ctl.sh.\nLAB_PORT=${port}\nLAB_NODE=${shellQuote(options.node ?? process.execPath)}\n`,
  );
  return paths;
}

/** The result of running `app-ctl.sh`. */
export interface CtlResult {
  exitCode: number;
  output: string;
}

/**
 * Runs the lab's `app-ctl.sh` with an action, as the deploy steps do.
 *
 * @example
 * await labCtl(lab, 'start'); // { exitCode: 0, output: 'lab app v1 started (pid 4242, port 47613)\n' }
 */
export async function labCtl(
  paths: LabPaths,
  action: 'start' | 'stop' | 'restart' | 'status',
): Promise<CtlResult> {
  try {
    const { stdout, stderr } = await exec('bash', [paths.ctl, action], { cwd: paths.host });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return {
      exitCode: typeof failure.code === 'number' ? failure.code : 1,
      output: `${failure.stdout ?? ''}${failure.stderr ?? failure.message}`,
    };
  }
}

/**
 * Starts the lab app at whatever the host has checked out.
 *
 * @example
 * await startLabApp(await setupLab());
 * @throws LabError with the script's output when it does not start
 */
export async function startLabApp(paths: LabPaths): Promise<string> {
  const result = await labCtl(paths, 'start');
  if (result.exitCode !== 0) throw new LabError(`the lab app did not start:\n${result.output.trimEnd()}`);
  return result.output.trim();
}

/** What the app's `/health` answered. */
export interface AppHealth {
  status: number;
  body: { status?: string; version?: string; problems?: string[] } | undefined;
}

/**
 * Asks the app's `/health`; undefined when nothing answers on the port.
 *
 * @example
 * (await appHealth(47613))?.body?.version // 'v2'
 */
export async function appHealth(port: number = DEMO_PORT, timeoutMs = 2000): Promise<AppHealth | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body: AppHealth['body'];
    try {
      body = JSON.parse(text) as AppHealth['body'];
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  } catch {
    return undefined;
  }
}
