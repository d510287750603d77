/**
 * Snapshots of local hosts: a copy of the host directory (`cp -a`), the local stand-in for an EBS
 * snapshot, under `<stepopsHome()>/snapshots/<target>/<backup>/<run>/`, with its tags in
 * `tags.json` and its state in `state.json` (`pending` while the copy runs, then `completed` or
 * `failed`). A copy left `pending` by a process that is gone (killed midway) reads as `failed`, so
 * that retention can delete it. RDS and AWS Backup copies have no local stand-in: a local target
 * declaring them is sent to the AWS service given to the constructor.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SnapshotFailedError } from '../../errors.ts';
import { BACKUP_TAGS } from '../aws/copy-tags.ts';
import { NotStepopsCopyError } from '../errors.ts';
import type {
  CopyRef,
  CopyRequest,
  CopyScope,
  CopyService,
  CopyState,
  CopyStatus,
  TaggedCopy,
} from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';
import { processExists } from './process.ts';

interface CopyState_ {
  state: CopyState;
  detail: string;
  sizeBytes?: number;
  createdAt: string;
  /** The process copying, while `pending`. */
  pid?: number;
}

/** A pending copy whose process cannot be checked is given up after this long. */
const PENDING_DEADLINE_MS = 24 * 3600_000;

/** Directories this process is copying into now (every instance of the service shares it). */
const copying = new Set<string>();

/** The state of a copy as it is: a `pending` one whose copying process is gone is `failed`. */
function settled(dir: string, state: CopyState_, now = Date.now()): CopyState_ {
  if (state.state !== 'pending' || copying.has(dir)) return state;
  const age = now - (Date.parse(state.createdAt) || 0);
  // A copy by a live process (this one included: a module loaded twice has its own `copying`) still runs.
  if (state.pid !== undefined && processExists(state.pid) && age < PENDING_DEADLINE_MS) return state;
  if (state.pid === undefined && age < PENDING_DEADLINE_MS) return state;
  return {
    ...state,
    state: 'failed',
    detail:
      state.pid !== undefined && !processExists(state.pid)
        ? `interrupted: the process copying it (pid ${state.pid}) is gone`
        : 'interrupted: still pending a day after it started',
  };
}

/** Replaces a file by a rename, so that a reader never sees it half written. */
async function writeAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content);
  await rename(temp, file);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => resolve({ code: 127, stderr: error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

async function directorySize(dir: string): Promise<number> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('du', ['-sb', dir], (error, stdout) => resolve(error ? 0 : Number(stdout.split('\t')[0]) || 0));
  });
}

export interface LocalCopyServiceOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Serves RDS and AWS Backup jobs a local target declares. */
  aws?: CopyService;
}

/**
 * @example
 * const copies = new LocalCopyService();
 * const ref = await copies.start({ kind: 'ebs-snapshot', hosts, tags, description: 'demo data' });
 */
export class LocalCopyService implements CopyService {
  readonly #home: () => string;
  readonly #aws: CopyService | undefined;
  readonly #copies = new Map<string, Promise<void>>();

  constructor(options: LocalCopyServiceOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#aws = options.aws;
  }

  #dir(target: string, backup: string, runId?: string): string {
    const base = path.join(this.#home(), 'snapshots', fileSafe(target), fileSafe(backup));
    return runId ? path.join(base, fileSafe(runId)) : base;
  }

  #forward(kind: string): CopyService {
    if (!this.#aws)
      throw new SnapshotFailedError(`${kind} backups have no local stand-in and no AWS service was given`);
    return this.#aws;
  }

  async start(request: CopyRequest): Promise<CopyRef> {
    if (request.kind !== 'ebs-snapshot') return this.#forward(request.kind).start(request);
    const target = request.tags[BACKUP_TAGS.target] ?? 'target';
    const backup = request.tags[BACKUP_TAGS.backup] ?? 'backup';
    const runId = request.tags[BACKUP_TAGS.run] ?? 'run';
    const dir = this.#dir(target, backup, runId);
    // A host that is not local is refused before anything is written.
    const resources = request.hosts.map((host, i) => {
      if (host.kind !== 'local') throw new SnapshotFailedError(`${host.id} is not a local host`);
      return { id: path.join(dir, `host-${i}`), source: host.directory };
    });
    await mkdir(dir, { recursive: true });
    const createdAt = new Date().toISOString();
    copying.add(dir);
    // The state first: a listing finds a copy by its tags, and then always finds it pending.
    await writeAtomic(
      path.join(dir, 'state.json'),
      JSON.stringify({ state: 'pending', detail: 'copying', createdAt, pid: process.pid }),
    );
    await writeAtomic(path.join(dir, 'tags.json'), `${JSON.stringify(request.tags)}\n`);
    const work = (async () => {
      const failures: string[] = [];
      for (const r of resources) {
        const result = await run('cp', ['-a', '--', r.source, r.id]);
        if (result.code !== 0)
          failures.push(`cp -a ${r.source}: ${result.stderr.trim() || `exit ${result.code}`}`);
      }
      let size = 0;
      for (const r of resources) size += await directorySize(r.id);
      const state: CopyState_ =
        failures.length > 0
          ? { state: 'failed', detail: failures.join('; '), createdAt }
          : {
              state: 'completed',
              detail: `copied ${resources.length} director${resources.length === 1 ? 'y' : 'ies'}`,
              sizeBytes: size,
              createdAt,
            };
      await writeAtomic(path.join(dir, 'state.json'), JSON.stringify(state));
    })();
    this.#copies.set(dir, work);
    void work.finally(() => {
      this.#copies.delete(dir);
      copying.delete(dir);
    });
    return { kind: 'ebs-snapshot', resources: resources.map((r) => ({ id: r.id })) };
  }

  async status(ref: CopyRef): Promise<CopyStatus> {
    if (ref.kind !== 'ebs-snapshot') return this.#forward(ref.kind).status(ref);
    const dir = path.dirname(ref.resources[0]?.id ?? '');
    const read = await readJson<CopyState_>(path.join(dir, 'state.json'));
    if (!read) return { state: 'failed', resources: ref.resources, detail: `no snapshot at ${dir}` };
    const state = settled(dir, read);
    return {
      state: state.state,
      resources: ref.resources,
      ...(state.sizeBytes !== undefined ? { sizeBytes: state.sizeBytes } : {}),
      detail: state.detail,
    };
  }

  async listTagged(scope: CopyScope): Promise<TaggedCopy[]> {
    if (scope.kind !== 'ebs-snapshot') return this.#forward(scope.kind).listTagged(scope);
    const base = this.#dir(scope.target, scope.backup);
    const runs = await readdir(base).catch(() => []);
    const copies: TaggedCopy[] = [];
    for (const run of runs) {
      const dir = path.join(base, run);
      const tags = await readJson<Record<string, string>>(path.join(dir, 'tags.json'));
      const read = await readJson<CopyState_>(path.join(dir, 'state.json'));
      const state = read ? settled(dir, read) : undefined;
      if (!tags || tags[BACKUP_TAGS.target] !== scope.target || tags[BACKUP_TAGS.backup] !== scope.backup)
        continue;
      const hosts = (await readdir(dir)).filter((name) => name.startsWith('host-'));
      copies.push({
        // The same name the AWS service gives a copy without a run tag: never a run of stepops.
        runId: tags[BACKUP_TAGS.run] ?? `untagged-run:${dir}`,
        resources: hosts.map((h) => ({ id: path.join(dir, h) })),
        state: state?.state ?? 'failed',
        createdAt: state?.createdAt ?? new Date(0).toISOString(),
        ...(state?.sizeBytes !== undefined ? { sizeBytes: state.sizeBytes } : {}),
      });
    }
    return copies;
  }

  async remove(ref: CopyRef, scope: CopyScope, runId: string): Promise<void> {
    if (ref.kind !== 'ebs-snapshot') return this.#forward(ref.kind).remove(ref, scope, runId);
    const base = this.#dir(scope.target, scope.backup);
    for (const r of ref.resources) {
      const dir = path.dirname(r.id);
      const tags = await readJson<Record<string, string>>(path.join(dir, 'tags.json'));
      if (
        path.dirname(dir) !== base ||
        tags?.[BACKUP_TAGS.target] !== scope.target ||
        tags[BACKUP_TAGS.backup] !== scope.backup ||
        tags[BACKUP_TAGS.run] !== runId
      ) {
        throw new NotStepopsCopyError(
          `${r.id} is not a stepops snapshot of ${scope.target}/${scope.backup} run ${runId}: not deleted`,
        );
      }
    }
    for (const dir of new Set(ref.resources.map((r) => path.dirname(r.id))))
      await rm(dir, { recursive: true, force: true });
  }

  /** Waits for the copies this process started (tests, the CLI before it exits). */
  async settle(): Promise<void> {
    await Promise.all(this.#copies.values());
  }
}
