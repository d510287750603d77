/**
 * What a deploy request asks for: the `{ target, ref, reason? }` body of a token-authenticated
 * request, or a GitHub `push` event mapped to a target and a ref.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';
import type { Target } from '../config/schema.ts';
import { REF_PATTERN } from '../shell/script.ts';
import { type ApiError, badRequest, notFound } from './errors.ts';

// zod/mini loads no messages by itself: zod's English ones, so that an answer reads the same.
z.config(en());

/** A deploy the API was asked to start. */
export interface DeployRequest {
  target: string;
  ref: string;
  reason?: string;
}

const REF_MESSAGE =
  'expected a branch, tag or commit of letters, digits, ".", "_", "/" and "-", starting with a letter or digit, at most 128 characters';

const refSchema = z
  .string({ error: 'expected a string' })
  .check(z.regex(REF_PATTERN, { error: REF_MESSAGE }));

/** The body of `POST /deploys` with a bearer token. */
export const deployRequestSchema = z.strictObject(
  {
    target: z
      .string({ error: 'expected a string' })
      .check(
        z.regex(NAME_PATTERN, { error: 'expected a target name of lowercase letters, digits and dashes' }),
      ),
    ref: refSchema,
    reason: z.optional(
      z
        .string({ error: 'expected a string' })
        .check(
          z.maxLength(200, { error: 'expected at most 200 characters' }),
          z.regex(/^[^\p{Cc}]*$/u, { error: 'expected one line of text without control characters' }),
        ),
    ),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected a JSON object' : undefined) },
);

function firstIssue(error: z.core.$ZodError, prefix = ''): ApiError {
  const issue = error.issues[0]!;
  let path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') path = issue.keys[0] ?? path;
  const field = `${prefix}${path}`.replace(/\.$/, '');
  const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
  return field
    ? badRequest('InvalidRequest', `${field}: ${message}`, field)
    : badRequest('InvalidRequest', message);
}

/**
 * Validates the body of a token-authenticated deploy request.
 *
 * @example
 * parseDeployRequest({ target: 'zmanim', ref: 'v1.4.2' }) // { target: 'zmanim', ref: 'v1.4.2' }
 * @throws ApiError 400 `InvalidRequest` naming the first field at fault
 */
export function parseDeployRequest(body: unknown): DeployRequest {
  const result = deployRequestSchema.safeParse(body);
  if (!result.success) throw firstIssue(result.error);
  return result.data;
}

/** The parts of a GitHub `push` event the API reads. */
export const pushEventSchema = z.object({
  ref: z.string({ error: 'expected a string' }),
  deleted: z.optional(z.boolean()),
  after: z.optional(z.string()),
  repository: z.object({
    full_name: z.string({ error: 'expected a string' }),
    default_branch: z.optional(z.string()),
  }),
  sender: z.optional(z.object({ login: z.string() })),
});

/** A full commit id as GitHub sends `after`: SHA-1 (40 hex) or SHA-256 (64 hex); all zeros is a deletion. */
export const COMMIT_PATTERN = /^(?!0+$)(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The pushed commit a deploy's `reason` names (`push to acme/app at <commit>`), if any.
 *
 * @example
 * pushedCommitOf('push to acme/app at a1b2…5678') // 'a1b2…5678'
 */
export function pushedCommitOf(reason: unknown): string | undefined {
  if (typeof reason !== 'string') return undefined;
  const match = / at ([0-9a-f]{40}|[0-9a-f]{64})$/.exec(reason);
  return match?.[1];
}

/** What a push event asks for: a deploy, or nothing (with the reason). */
export type PushDecision =
  | {
      action: 'deploy';
      request: DeployRequest;
      repository: string;
      sender?: string;
      /** The pushed commit (`after`), when the event names one. */
      commit?: string;
    }
  | { action: 'ignore'; reason: string };

/**
 * Maps a GitHub `push` event to a deploy: `refs/tags/<tag>` deploys `<tag>`, `refs/heads/<branch>`
 * deploys `<branch>` when it is the repository's default branch (a branch push whose event names no
 * default branch is ignored: the filter fails closed); the target is the one whose
 * `repository` is the event's `repository.full_name`. Branch deletions and pushes to other branches
 * are ignored (answered 200, nothing started).
 *
 * @example
 * mapPushEvent({ ref: 'refs/tags/v2', repository: { full_name: 'acme/zmanim' } }, targets)
 * // { action: 'deploy', request: { target: 'zmanim', ref: 'v2', reason: 'push to acme/zmanim' }, … }
 * @throws ApiError 400 for a malformed event or a ref that is not a valid ref, 404 when no target
 *   deploys the repository
 */
export function mapPushEvent(event: unknown, targets: readonly Target[]): PushDecision {
  const parsed = pushEventSchema.safeParse(event);
  if (!parsed.success) throw firstIssue(parsed.error);
  const push = parsed.data;
  if (push.deleted) return { action: 'ignore', reason: `${push.ref} was deleted` };

  let ref: string;
  if (push.ref.startsWith('refs/tags/')) {
    ref = push.ref.slice('refs/tags/'.length);
  } else if (push.ref.startsWith('refs/heads/')) {
    ref = push.ref.slice('refs/heads/'.length);
    // Fail closed: without the default branch, no branch push can be shown to be the deployed one.
    if (push.repository.default_branch === undefined) {
      return {
        action: 'ignore',
        reason:
          'the push event names no repository.default_branch: branch pushes are not deployed without it',
      };
    }
    if (ref !== push.repository.default_branch) {
      return {
        action: 'ignore',
        reason: `pushes to branches other than the default branch (${push.repository.default_branch}) are not deployed`,
      };
    }
  } else {
    throw badRequest('InvalidRequest', 'ref: expected refs/heads/<branch> or refs/tags/<tag>', 'ref');
  }
  if (!REF_PATTERN.test(ref)) throw badRequest('InvalidRequest', `ref: ${REF_MESSAGE}`, 'ref');

  const repository = push.repository.full_name;
  const commit = push.after !== undefined && COMMIT_PATTERN.test(push.after) ? push.after : undefined;
  const matches = targets.filter((t) => t.repository?.toLowerCase() === repository.toLowerCase());
  if (matches.length === 0) {
    throw notFound(
      'UnknownTarget',
      `no deployable target declares repository "${repository.slice(0, 200)}"`,
      'repository.full_name',
    );
  }
  if (matches.length > 1) {
    throw badRequest(
      'AmbiguousRepository',
      `several targets declare repository "${repository}" (${matches.map((t) => t.name).join(', ')}); deploy them with a token instead`,
      'repository.full_name',
    );
  }
  return {
    action: 'deploy',
    request: {
      target: matches[0]!.name,
      ref,
      reason: commit ? `push to ${repository} at ${commit}` : `push to ${repository}`,
    },
    repository,
    ...(push.sender ? { sender: push.sender.login } : {}),
    ...(commit ? { commit } : {}),
  };
}
