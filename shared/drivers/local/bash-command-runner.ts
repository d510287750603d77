/**
 * Local command runner: runs the same script an SSM host would run, with bash, in the local host's
 * directory. Each command keeps its state in files so that `status()` can be called later, from
 * another handler invocation (or another process) than the one that sent it:
 *
 * ```
 * <stepopsHome()>/commands/<commandId>/<host>.sh        the script
 * <stepopsHome()>/commands/<commandId>/<host>.log       stdout and stderr, interleaved
 * <stepopsHome()>/commands/<commandId>/<host>.exit      the exit code, written when the script ends
 * <stepopsHome()>/commands/<commandId>/<host>.timedout  written when the script was killed at its deadline
 * <stepopsHome()>/commands/<commandId>/<host>.json      pid, process group and deadline
 * ```
 *
 * An idempotent send (`request.idempotency`) names its command after a hash of the key and claims
 * the command directory with an exclusive `mkdir`: a second send with the same key finds it and
 * returns that command instead of running the script again.
 *
 * The script runs in its own session (detached), under a small bash wrapper that writes the exit
 * code; at the deadline every process of the session is sent SIGTERM, then SIGKILL after a grace
 * period. Processes a script leaves running in the background after it ends normally (a server it
 * started) are left alone.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tail } from '../output.ts';
import type {
  CommandHandle,
  CommandRequest,
  CommandRunner,
  HostRef,
  InvocationResult,
  InvocationState,
} from '../ports.ts';
import { OUTPUT_TAIL_LIMIT } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';
import { processExists } from './process.ts';

/** Runs the script, then records its exit code atomically (temp file + rename). */
const WRAPPER = 'bash "$1"; code=$?; printf \'%s\\n\' "$code" > "$2.tmp" && mv -f "$2.tmp" "$2"';

/** Bytes read from the end of a log: enough for {@link OUTPUT_TAIL_LIMIT} characters of UTF-8. */
const LOG_READ_BYTES = OUTPUT_TAIL_LIMIT * 4;

export interface BashCommandRunnerOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Variables added to the environment the script inherits from this process. */
  env?: Record<string, string>;
  /** Seconds between SIGTERM and SIGKILL when a script overruns its timeout (default 5). */
  killGraceSeconds?: number;
}

interface InvocationMeta {
  hostId: string;
  directory: string;
  pid?: number;
  /** Epoch milliseconds after which the script is killed. */
  deadline: number;
  startedAt: string;
}

/**
 * The processes of a session. The script runs as a session leader (detached), and every step runs
 * under `timeout`, which moves itself into a process group of its own: killing the script's group
 * alone would leave the steps running, so the whole session is killed.
 */
async function sessionMembers(sid: number): Promise<number[]> {
  try {
    const members: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // Fields after the command name: state, ppid, pgrp, session, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid) members.push(Number(entry));
    }
    return members;
  } catch {
    // No /proc (macOS): ask pgrep.
    return new Promise((resolve) => {
      execFile('pgrep', ['-s', String(sid)], (_error, stdout) =>
        resolve(String(stdout).split(/\s+/).filter(Boolean).map(Number)),
      );
    });
  }
}

async function killSession(sid: number, signal: NodeJS.Signals): Promise<void> {
  const targets = [-sid, ...(await sessionMembers(sid))];
  for (const target of targets) {
    try {
      process.kill(target, signal);
    } catch {
      // Gone already.
    }
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readLogTail(file: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_READ_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return tail(buffer.toString('utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  } finally {
    await handle?.close();
  }
}

function localHost(host: HostRef): Extract<HostRef, { kind: 'local' }> {
  if (host.kind !== 'local') {
    throw new Error(
      `the local command runner runs scripts on local hosts only, not on ${host.kind} host ${host.id}`,
    );
  }
  return host;
}

/**
 * Runs scripts with bash on this machine, one process group per host, and reads their state from
 * files. Same result shape as the SSM runner.
 *
 * @example
 * const runner = new BashCommandRunner();
 * const handle = await runner.send({ hosts, script, timeoutSeconds: 60, comment: 'deploy demo v2' });
 * const results = await runner.status(handle); // [{ hostId: 'local:lab/app', state: 'running', outputTail: '' }]
 */
export class BashCommandRunner implements CommandRunner {
  readonly #home: () => string;
  readonly #env: Record<string, string>;
  readonly #graceMs: number;

  constructor(options: BashCommandRunnerOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#env = options.env ?? {};
    this.#graceMs = (options.killGraceSeconds ?? 5) * 1000;
  }

  async send(request: CommandRequest): Promise<CommandHandle> {
    const hosts = request.hosts.map(localHost);
    if (hosts.length === 0) throw new Error('a command needs at least one host');
    const key = request.idempotency?.key;
    const commandId = key
      ? `local-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`
      : `local-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const dir = this.#commandDir(commandId);
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await mkdir(dir);
    } catch (error) {
      // Sent already (a retried send): the command that exists is the answer.
      if (key && (error as NodeJS.ErrnoException).code === 'EEXIST')
        return { commandId, hosts: request.hosts };
      throw error;
    }
    for (const host of hosts) await this.#start(commandId, dir, host, request);
    return { commandId, hosts: request.hosts };
  }

  async status(handle: CommandHandle): Promise<InvocationResult[]> {
    const dir = this.#commandDir(handle.commandId);
    return Promise.all(handle.hosts.map((host) => this.#hostStatus(dir, handle.commandId, host)));
  }

  #commandDir(commandId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(commandId)) throw new Error(`invalid local command id "${commandId}"`);
    return path.join(this.#home(), 'commands', commandId);
  }

  async #start(commandId: string, dir: string, host: HostRef & { kind: 'local' }, request: CommandRequest) {
    const base = path.join(dir, fileSafe(host.id));
    await writeFile(`${base}.sh`, request.script, { mode: 0o700 });
    const meta: InvocationMeta = {
      hostId: host.id,
      directory: host.directory,
      deadline: Date.now() + request.timeoutSeconds * 1000,
      startedAt: new Date().toISOString(),
    };
    const logFd = openSync(`${base}.log`, 'w');
    let pid: number | undefined;
    try {
      const child = spawn('bash', ['-c', WRAPPER, 'stepops-command', `${base}.sh`, `${base}.exit`], {
        cwd: host.directory,
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env, ...this.#env, STEPOPS_COMMAND_ID: commandId, STEPOPS_HOST: host.id },
      });
      pid = await new Promise<number | undefined>((resolve) => {
        child.once('spawn', () => resolve(child.pid));
        child.once('error', async (error) => {
          await writeFile(
            `${base}.log`,
            `stepops: cannot start bash in ${host.directory}: ${(error as NodeJS.ErrnoException).code ?? error.message}\n`,
          );
          await writeFile(`${base}.exit`, '127\n');
          resolve(undefined);
        });
      });
      child.unref();
    } finally {
      closeSync(logFd);
    }
    if (pid !== undefined) meta.pid = pid;
    await writeFile(`${base}.json`, `${JSON.stringify(meta)}\n`);
    if (pid !== undefined) {
      // setTimeout fires at once beyond 2^31-1 ms; status() enforces longer deadlines.
      const delay = Math.min(2 ** 31 - 1, Math.max(0, meta.deadline - Date.now()));
      // The state directory may be gone when the timer fires (removed by hand, a test's cleanup):
      // the rejection must not reach the process, whose default is to exit on it. status() enforces
      // the deadline again if the command is still asked about.
      const timer = setTimeout(() => {
        this.#expire(base, pid).catch(() => undefined);
      }, delay);
      timer.unref();
    }
  }

  /** Kills the script's process group at its deadline unless it has ended. */
  async #expire(base: string, pid: number): Promise<void> {
    if ((await readIfExists(`${base}.exit`)) !== undefined) return;
    if ((await readIfExists(`${base}.timedout`)) !== undefined) return;
    await writeFile(`${base}.timedout`, `${new Date().toISOString()}\n`);
    await killSession(pid, 'SIGTERM');
    setTimeout(() => {
      killSession(pid, 'SIGKILL').catch(() => undefined);
    }, this.#graceMs).unref();
  }

  async #hostStatus(dir: string, commandId: string, host: HostRef): Promise<InvocationResult> {
    const base = path.join(dir, fileSafe(host.id));
    const metaText = await readIfExists(`${base}.json`);
    if (metaText === undefined) {
      const started = await stat(`${base}.sh`).catch(() => undefined);
      // Between writing the script and the metadata the command is still starting.
      if (started) return { hostId: host.id, state: 'pending', outputTail: '' };
      return {
        hostId: host.id,
        state: 'failed',
        outputTail: `stepops: no record of command ${commandId} on ${host.id} under ${dir}`,
      };
    }
    const meta = JSON.parse(metaText) as InvocationMeta;
    // The end markers first, the log after: a log read first may miss what the script wrote just
    // before it ended.
    const timedOut = await readIfExists(`${base}.timedout`);
    const exitText = await readIfExists(`${base}.exit`);
    const outputTail = await readLogTail(`${base}.log`);
    if (timedOut !== undefined) {
      // Make sure the group is gone even if the process that set the timer is not.
      if (meta.pid !== undefined && Date.now() - Date.parse(timedOut) > this.#graceMs) {
        await killSession(meta.pid, 'SIGKILL');
      }
      return { hostId: host.id, state: 'timed-out', outputTail };
    }
    if (exitText !== undefined) {
      const exitCode = Number.parseInt(exitText.trim(), 10);
      const state: InvocationState = exitCode === 0 ? 'succeeded' : 'failed';
      return { hostId: host.id, state, exitCode, outputTail };
    }
    if (meta.pid === undefined || !processExists(meta.pid)) {
      // The wrapper writes the exit file before it ends: read once more before calling it lost.
      const late = await readIfExists(`${base}.exit`);
      if (late !== undefined) return this.#hostStatus(dir, commandId, host);
      return {
        hostId: host.id,
        state: 'failed',
        outputTail: tail(`${outputTail}\nstepops: the script's process ended without an exit code`),
      };
    }
    if (Date.now() > meta.deadline) {
      // The process that sent the command (and its timer) may be gone: enforce the deadline here.
      await this.#expire(base, meta.pid);
      return { hostId: host.id, state: 'timed-out', outputTail };
    }
    return { hostId: host.id, state: 'running', outputTail };
  }
}
