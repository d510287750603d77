/**
 * File approval store: one JSON file per recovery run under `<stepopsHome()>/approvals/`. An answer
 * is taken once with an exclusive create of `<run>.answer`; the waiting run watches for it.
 */
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApprovalClosedError } from '../errors.ts';
import type { ApprovalRecord, ApprovalStore } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';

export interface FileApprovalStoreOptions {
  home?: () => string;
  now?: () => number;
}

/**
 * Approval requests as files, for local runs and `stepops approve|reject` from another shell.
 *
 * @example
 * const store = new FileApprovalStore();
 * await store.answer('run-1', 'approved', 'ana');
 */
export class FileApprovalStore implements ApprovalStore {
  readonly #home: () => string;
  readonly #now: () => number;

  constructor(options: FileApprovalStoreOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The directory of the approval files. */
  directory(): string {
    return path.join(this.#home(), 'approvals');
  }

  #file(runId: string, suffix = '.json'): string {
    return path.join(this.directory(), `${fileSafe(runId)}${suffix}`);
  }

  async put(record: ApprovalRecord): Promise<void> {
    await mkdir(this.directory(), { recursive: true });
    // A run asks again (before another step): the answer to its previous request is not this one's.
    await unlink(this.#file(record.runId, '.answer')).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const temp = `${this.#file(record.runId)}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.#file(record.runId));
  }

  async get(runId: string): Promise<ApprovalRecord | undefined> {
    let record: ApprovalRecord;
    try {
      record = JSON.parse(await readFile(this.#file(runId), 'utf8')) as ApprovalRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const answer = JSON.parse(
        await readFile(this.#file(runId, '.answer'), 'utf8'),
      ) as Partial<ApprovalRecord>;
      return { ...record, ...answer };
    } catch (error) {
      // No answer yet, or one being written this instant (read again on the next look).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return record;
      throw error;
    }
  }

  async answer(
    runId: string,
    decision: 'approved' | 'rejected',
    by: string,
    comment?: string,
    forStep?: string,
  ): Promise<ApprovalRecord> {
    const current = await this.get(runId);
    if (!current) throw new ApprovalClosedError(`no approval request for run ${runId}`);
    if (forStep !== undefined && (current.step ?? '') !== forStep) {
      throw new ApprovalClosedError(
        `this approval of run ${runId} is closed: the run now waits for ${current.step ? `the approval of step "${current.step}"` : 'its own approval'}, which has its own request`,
      );
    }
    if (current.status !== 'pending') {
      throw new ApprovalClosedError(
        `the approval of run ${runId} was already answered (${current.status}${current.answeredBy ? ` by ${current.answeredBy}` : ''})`,
      );
    }
    if (current.expiresAt <= this.#now()) {
      throw new ApprovalClosedError(
        `the approval of run ${runId} expired at ${new Date(current.expiresAt * 1000).toISOString()}`,
      );
    }
    const answer = { status: decision, answeredBy: by, ...(comment ? { comment } : {}) };
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#file(runId, '.answer'), 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ApprovalClosedError(`the approval of run ${runId} was already answered`);
      }
      throw error;
    }
    try {
      await handle.writeFile(`${JSON.stringify(answer)}\n`);
    } finally {
      await handle.close();
    }
    return { ...current, ...answer };
  }

  async reopen(runId: string, decision: 'approved' | 'rejected', by: string): Promise<void> {
    const file = this.#file(runId, '.answer');
    let answer: Partial<ApprovalRecord>;
    try {
      answer = JSON.parse(await readFile(file, 'utf8')) as Partial<ApprovalRecord>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (answer.status !== decision || answer.answeredBy !== by) return;
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
