/**
 * Script recipes that target files share. Each is a bash step body: it runs under the step
 * wrapper's `set -euo pipefail`, in the host's working directory, with the `STEPOPS_*` variables set.
 */
import { shellQuote } from '../shell/script.ts';

/**
 * Sets `record` to the file where this run keeps the commit it replaced on this host: one file per
 * run, inside the git directory (so it is never part of the checkout), named by the run id.
 */
const RUN_RECORD = `record_dir="$(git rev-parse --git-dir)/stepops-runs"
record="$record_dir/$(printf '%s' "$STEPOPS_RUN_ID" | tr -c 'A-Za-z0-9._-' '_')"`;

/** Resolves `$STEPOPS_REF` to a commit: a branch as origin has it now, a tag or a commit as it is. */
const RESOLVE_REF = `commit=$(git rev-parse --verify --quiet "refs/remotes/origin/\${STEPOPS_REF}^{commit}" ||
  git rev-parse --verify --quiet "\${STEPOPS_REF}^{commit}") || {
  echo "ref \\"$STEPOPS_REF\\" is not a branch, tag or commit of origin" >&2
  exit 1
}`;

/**
 * Verifies that `$STEPOPS_REF` names a commit of origin, changing nothing but the remote-tracking
 * refs: a `deploy.verify` step, so that a mistyped ref fails before any host changes.
 */
export const verifyRef = `git fetch --tags --force --prune origin
${RESOLVE_REF}
echo "$STEPOPS_REF is $commit; this host is at $(git rev-parse HEAD)"`;

/**
 * Fetches and checks out exactly `$STEPOPS_REF`. Before it changes anything it records the commit
 * it replaces for this run (what {@link checkoutPrevious} returns to), and in `.stepops-previous`
 * the commit the last deploy replaced (what {@link checkoutLastReplaced} returns to). Records of
 * runs older than 30 days are removed.
 */
export const checkoutRef = `git fetch --tags --force --prune origin
${RESOLVE_REF}
current=$(git rev-parse HEAD)
${RUN_RECORD}
mkdir -p "$record_dir"
find "$record_dir" -type f -mtime +30 -delete
# A command sent again in the same run keeps what the run found first.
if [ ! -s "$record" ]; then
  printf '%s\n' "$current" > "$record"
fi
if [ "$current" != "$commit" ]; then
  printf '%s\n' "$current" > .stepops-previous
fi
git checkout --force --detach "$commit"
echo "checked out $commit for $STEPOPS_REF (run $STEPOPS_RUN_ID)"`;

/**
 * The rollback of a deploy: returns to the commit this run recorded before its checkout. A host
 * where this run recorded nothing (it failed before its checkout) was not changed by it and stays
 * as it is, and the rest of its rollback script is skipped (`$STEPOPS_SKIP_REST`): a rollback never
 * acts on what an earlier run recorded.
 */
export const checkoutPrevious = `${RUN_RECORD}
if [ ! -s "$record" ]; then
  echo "run $STEPOPS_RUN_ID changed no checkout on this host: staying at $(git rev-parse HEAD)"
  # Nothing to roll back here: the rest of the rollback (rebuilds, restarts) is skipped.
  echo "run $STEPOPS_RUN_ID changed nothing on this host" > "\${STEPOPS_SKIP_REST:-/dev/null}"
  exit 0
fi
previous=$(cat "$record")
git checkout --force --detach "$previous"
echo "returned to $previous, the commit run $STEPOPS_RUN_ID replaced"`;

/**
 * For recovery runbooks: checks out the commit the last deploy replaced (`.stepops-previous`), the
 * last good version when the live one is bad.
 */
export const checkoutLastReplaced = `if [ ! -s .stepops-previous ]; then
  echo "no .stepops-previous: nothing recorded to return to" >&2
  exit 1
fi
previous=\${STEPOPS_AGREED:-$(cat .stepops-previous)}
git checkout --force --detach "$previous"
echo "returned to $previous"`;

/**
 * The agreement of a fleet's revert (a script step's `agree`): before it, every host must name the
 * same last replaced commit (it becomes `$STEPOPS_AGREED`, which {@link checkoutLastReplaced}
 * checks out); after it, every host must run the same commit. A fleet never ends on two releases.
 */
export const revertAgreement = {
  before: 'cat .stepops-previous',
  after: 'git rev-parse HEAD',
} as const;

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

/**
 * Shell functions for a restore test's scratch PostgreSQL database, named in `$scratch`, with the
 * app's connection in the `PG*` variables. `create_scratch` creates it as the app's role when that
 * role may create databases (CREATEDB or superuser); otherwise, when PostgreSQL runs on this host,
 * as its `postgres` superuser (`sudo -n -u postgres`, over the local socket) owned by the app's
 * role, so the restore and the check still run as the app; otherwise it fails and says what to
 * grant. `drop_scratch` drops it the same way, and is meant for an EXIT trap: the scratch database
 * is dropped when the restore fails too.
 *
 * @example
 * `${scratchDatabase}\nscratch=stepops_rt_1\ncreate_scratch\ntrap drop_scratch EXIT`
 */
export const scratchDatabase = `can_create=$(psql --no-psqlrc --tuples-only --no-align --dbname "\${PGDATABASE:-postgres}" -c "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
as_admin=""
if [ "$can_create" != t ]; then
  case "\${PGHOST:-localhost}" in
    localhost | 127.0.0.1 | ::1 | /*)
      if sudo -n -u postgres true 2>/dev/null; then
        as_admin="sudo -n -u postgres"
      fi
      ;;
  esac
fi
create_scratch() {
  if [ "$can_create" = t ]; then
    createdb "$scratch"
  elif [ -n "$as_admin" ]; then
    $as_admin createdb --owner "$PGUSER" "$scratch"
  else
    echo "stepops: role $PGUSER may not create databases (no CREATEDB) and PostgreSQL is not on this host: ALTER ROLE $PGUSER CREATEDB, or restore-test as a role that may" >&2
    return 1
  fi
}
drop_scratch() {
  if [ "$can_create" = t ]; then
    dropdb --if-exists "$scratch"
  elif [ -n "$as_admin" ]; then
    $as_admin dropdb --if-exists "$scratch"
  fi
}`;
