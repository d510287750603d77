/**
 * Script recipes that target files share. Each is a bash step body: it runs under the step
 * wrapper's `set -euo pipefail`, in the host's working directory, with the `STEPOPS_*` variables set.
 */
import { shellQuote } from '../shell/script.ts';

/** Fetches and checks out exactly `$STEPOPS_REF`, recording the commit it replaces. */
export const checkoutRef = `git fetch --tags --force --prune origin
# A branch deploys its tip on origin; a tag or a commit deploys as it is.
commit=$(git rev-parse --verify --quiet "refs/remotes/origin/\${STEPOPS_REF}^{commit}" ||
  git rev-parse --verify "\${STEPOPS_REF}^{commit}")
current=$(git rev-parse HEAD)
if [ "$current" != "$commit" ]; then
  printf '%s\\n' "$current" > .stepops-previous
fi
git checkout --force --detach "$commit"
echo "checked out $commit for $STEPOPS_REF (run $STEPOPS_RUN_ID)"`;

/** Checks out the commit recorded by the last deploy (the last good version). */
export const checkoutPrevious = `if [ ! -s .stepops-previous ]; then
  echo "no .stepops-previous: nothing recorded to return to" >&2
  exit 1
fi
previous=$(cat .stepops-previous)
git checkout --force --detach "$previous"
echo "returned to $previous"`;

/**
 * A command probe body that fails when a filesystem is fuller than a limit.
 *
 * @example
 * diskUsageBelow('/', 90) // passes while the root filesystem is under 90% used
 */
export function diskUsageBelow(mountPoint: string, percent: number): string {
  return `used=$(df --output=pcent ${shellQuote(mountPoint)} | tail -n 1 | tr -dc '0-9')
echo ${shellQuote(mountPoint)}" $used% used"
[ "$used" -lt ${Math.trunc(percent)} ]`;
}
