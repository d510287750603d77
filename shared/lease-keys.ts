/**
 * The keys of the leases that keep runs apart, shared by every workflow, the API and the CLI. Pure.
 */

/**
 * The lease key of a target: one run at a time acts on a target, whatever the workflow.
 *
 * @example
 * targetLeaseKey('demo') // 'target:demo'
 */
export function targetLeaseKey(target: string): string {
  return `target:${target}`;
}
