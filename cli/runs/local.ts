/**
 * Local runs, recorded under `.stepops/runs/<run id>/` (`run.json`: the summary, rewritten at the
 * start and the end; `events.jsonl`: one trace event per line, appended as the run goes), so that
 * `status`, `history`, `logs` and `follow` read a local run as they read one on AWS.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stepopsHome } from '../../shared/drivers/local/home.ts';
import { processExists } from '../../shared/drivers/local/process.ts';
import type { RunTrace, TraceEvent, TraceInvocation } from '../../shared/engine/trace.ts';
import type { RunEventReader, RunSource, RunStatus, RunSummary } from './model.ts';
import { traceOf } from './timeline.ts';

/** Output of an exited state kept in the record, at most (larger outputs are left out). */
const MAX_RECORDED_OUTPUT = 64 * 1024;

/** A recorded local run: the summary plus the process that ran it and its Lambda invocations. */
interface LocalRunFile extends RunSummary {
  pid: number;
  invocations?: TraceInvocation[];
}

/** The directory of the recorded runs. */
export function localRunsDir(): string {
  return path.join(stepopsHome(), 'runs');
}

function runDir(runId: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(runId)) throw new Error(`not a run id: ${runId}`);
  return path.join(localRunsDir(), runId);
}

function writeSummary(file: LocalRunFile): void {
  const dir = runDir(file.runId);
  const temp = path.join(dir, `run.json.${process.pid}.tmp`);
  writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(temp, path.join(dir, 'run.json'));
}

/** What one event keeps: its outputs when small (the command steps' results), no state inputs. */
function recordable(event: TraceEvent): TraceEvent {
  const { input, output, ...rest } = event;
  const kept: TraceEvent = { ...rest };
  if (event.kind === 'execution-started' && input !== undefined) kept.input = input;
  if (output !== undefined) {
    const text = JSON.stringify(output);
    if (text !== undefined && text.length <= MAX_RECORDED_OUTPUT) kept.output = output;
  }
  return kept;
}

/**
 * A local run being recorded. Recording is best effort: a write that fails (a full disk, a
 * read-only home) never reaches the run; the first failure is kept in {@link problem}, and the
 * recording stops writing events (a record with a gap would read as complete).
 *
 * @example
 * const recording = recordLocalRun('deploy', { target: 'demo', ref: 'v2' });
 * engine.start(input, { executionName: recording.runId, onEvent: (e) => recording.event(e) });
 * recording.finish(result);
 * if (recording.problem) console.error(recording.problem);
 */
export class LocalRunRecording {
  readonly runId: string;
  readonly #file: LocalRunFile;
  readonly #events: string;
  #problem: string | undefined;

  constructor(file: LocalRunFile) {
    this.runId = file.runId;
    this.#file = file;
    const dir = runDir(file.runId);
    this.#events = path.join(dir, 'events.jsonl');
    this.#attempt(() => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(this.#events, '');
      writeSummary(file);
    });
  }

  /** Why the record of this run is incomplete (the first write that failed), if it is. */
  get problem(): string | undefined {
    return (
      this.#problem &&
      `the record of run ${this.runId} under ${localRunsDir()} is incomplete: ${this.#problem}`
    );
  }

  #attempt(write: () => void): void {
    if (this.#problem) return;
    try {
      write();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.#problem = `${code ? `${code}: ` : ''}${(error as Error).message}`;
    }
  }

  /** Appends one trace event (nothing once a write has failed). */
  event(event: TraceEvent): void {
    this.#attempt(() => appendFileSync(this.#events, `${JSON.stringify(recordable(event))}\n`));
  }

  /** Records how the run ended; tried even after a failed event write, so that the run is not left RUNNING. */
  finish(result: {
    status: 'SUCCEEDED' | 'FAILED';
    error?: string;
    cause?: string;
    trace?: { invocations: readonly TraceInvocation[] };
  }): void {
    const ended: LocalRunFile = { ...this.#file, status: result.status, stoppedAt: new Date().toISOString() };
    if (result.trace) ended.invocations = [...result.trace.invocations];
    if (result.error !== undefined) ended.error = result.error;
    if (result.cause !== undefined) ended.cause = result.cause.slice(0, 8000);
    if (result.error === 'States.Aborted') ended.status = 'ABORTED';
    try {
      writeSummary(ended);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.#problem ??= `${code ? `${code}: ` : ''}${(error as Error).message}`;
    }
  }
}

/**
 * Starts recording a local run of `workflow`: its run id is `<target>-<16 hex>`, as the API names
 * executions on AWS.
 *
 * @example
 * recordLocalRun('deploy', { target: 'demo', ref: 'v2', requestedBy: 'ana (stepops deploy)' }).runId // 'demo-3f…'
 */
export function recordLocalRun(
  workflow: string,
  input: { target: string; ref?: string; reason?: string; requestedBy?: string; runId?: string },
): LocalRunRecording {
  const runId = input.runId ?? `${input.target}-${randomBytes(8).toString('hex')}`;
  return new LocalRunRecording({
    runId,
    workflow,
    status: 'RUNNING',
    target: input.target,
    ...(input.ref !== undefined ? { ref: input.ref } : {}),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.requestedBy !== undefined ? { requestedBy: input.requestedBy } : {}),
    startedAt: new Date().toISOString(),
    where: 'local',
    pid: process.pid,
  });
}

function readFile(runId: string): LocalRunFile | undefined {
  try {
    return JSON.parse(readFileSync(path.join(runDir(runId), 'run.json'), 'utf8')) as LocalRunFile;
  } catch {
    return undefined;
  }
}

function readRun(runId: string): RunSummary | undefined {
  const file = readFile(runId);
  if (!file) return undefined;
  const { pid, invocations: _invocations, ...summary } = file;
  if (summary.status === 'RUNNING' && !processExists(pid)) {
    // The process that ran it ended without recording the end (killed): the run is over.
    return {
      ...summary,
      status: 'ABORTED' as RunStatus,
      error: 'States.Aborted',
      cause: `the stepops process (pid ${pid}) that ran it ended before the run did`,
    };
  }
  return summary;
}

/** Local runs as a {@link RunSource}. */
export class LocalRunSource implements RunSource {
  readonly where = 'local';

  async list(
    workflow: string,
    options: { target?: string; limit: number; running?: boolean },
  ): Promise<RunSummary[]> {
    let ids: string[];
    try {
      ids = readdirSync(localRunsDir());
    } catch {
      return [];
    }
    return ids
      .flatMap((id) => {
        const run = /^[A-Za-z0-9_-]{1,80}$/.test(id) ? readRun(id) : undefined;
        return run ? [run] : [];
      })
      .filter(
        (run) =>
          run.workflow === workflow &&
          (options.target === undefined || run.target === options.target) &&
          (!options.running || run.status === 'RUNNING'),
      )
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, options.limit);
  }

  async describe(runId: string): Promise<RunSummary | undefined> {
    return /^[A-Za-z0-9_-]{1,80}$/.test(runId) ? readRun(runId) : undefined;
  }

  events(run: RunSummary): RunEventReader {
    const file = path.join(runDir(run.runId), 'events.jsonl');
    const all: TraceEvent[] = [];
    let offset = 0;
    return {
      all,
      trace: (summary: RunSummary): RunTrace => traceOf(summary, all, readFile(run.runId)?.invocations ?? []),
      next: async () => {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          text = '';
        }
        // Only whole lines: the writer may be half-way through one.
        const end = text.lastIndexOf('\n') + 1;
        const fresh = text
          .slice(offset, end)
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as TraceEvent);
        offset = Math.max(offset, end);
        all.push(...fresh);
        const current = readRun(run.runId);
        const ended =
          all.some((e) => e.kind === 'execution-succeeded' || e.kind === 'execution-failed') ||
          (current !== undefined && current.status !== 'RUNNING');
        return { events: fresh, ended };
      },
    };
  }
}
