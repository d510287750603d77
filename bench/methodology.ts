/** How each figure in `bench/RESULTS.md` is produced (rendered at its end). */
export const METHODOLOGY = `
Run with \`npm run bench\` (\`node bench/run.ts\`). \`--only cost,overhead,bundles,engine\` runs some
sections, \`--quick\` takes fewer samples; neither writes these files unless \`--write\` is given;
\`--render\` writes RESULTS.md again from results.json.
\`--only <sections> --write\` keeps the other sections from the bench/results.json it replaces, and
the header names the run each section comes from.

**1. Cost per run.** Each scenario is a real execution of the deploy workflow (\`workflows/deploy.ts\`)
on the local engine (\`shared/engine\`) with the real handlers of \`functions/\` and the local drivers:
fixture targets are registered at bench time (\`registerTarget\`), their hosts are temporary
directories where real bash runs the rendered scripts, and the health gate probes a real HTTP server
on 127.0.0.1. State transitions and Lambda invocations are the engine's counts; GB-seconds are each
invocation's measured handler time (rounded up to 1 ms, as Lambda bills) × its function's memory.
Prices: Step Functions Standard $0.025 per 1,000 transitions; Lambda $0.20 per million requests and
$0.0000166667 per GB-second (x86); no free tier. A poll Lambda that long-polls is billed for the time
it waits, which the measured handler time includes. Not counted: CloudWatch Logs ingestion, SSM Run
Command (free for EC2), SNS, DynamoDB lease writes, data transfer. The recovery scenario is a real
execution of the recovery workflow (\`workflows/recover.ts\`) the same way (\`bench/recovery.ts\`):
a restart runbook started by a health alert, its approval answered at once through the local
approval store (the answer's time billed as the answer-approval Lambda), its script run by bash, the
target's probe of 127.0.0.1 passing after it.

Schedules are priced as runs per month (730 hours) × the cost of one run, for workflows that exist.

**2. Orchestration overhead.** A fixture target whose single deploy step records its own start and
end (\`date +%s%N\`) around \`sleep S\`, and a health gate of one probe needing one success against
an HTTP server on 127.0.0.1. Overhead = wall time of the execution − (end − start) of the step.
It includes everything that is not the step: planning, the lease, sending the command, waiting for
the poll Lambda to notice the end (detection: from the step's end to the end of the poll Task that
saw it, read from the trace), the health gate, releasing the lease, notifying. S = 1, 5 and 20 s as
asked, plus 2.8 s, which ends just after a status read of the as-built schedule (near its worst
case). Schedules: the poll-command handler as built, and the same step function
(\`pollCommandStep\`) with a fixed pause of 100, 500 or 2000 ms between status reads, substituted
through its \`sleep\` dependency because the pause is not an option (see the note in section 2).
The four series run concurrently, each on its own fixture and target; runs within a series one
after another.

**3. Bundles.** Each \`functions/<name>/handler.ts\` is bundled with esbuild as SST bundles Node
functions: \`bundle: true, minify: true, format: 'esm', platform: 'node', target: 'node24',
mainFields: ['module', 'main']\`, a \`createRequire\` banner, nothing external (the AWS SDK included),
and code splitting (\`splitting: true\`, as the stacks set SST's \`nodejs.splitting\`): a bundle is an
entry file and chunks; a module imported with \`import()\` (an adapter of a rarer path, and the
SDK's own credential providers) is a chunk loaded on first use.
The settings are \`LAMBDA_BUILD_OPTIONS\` in bench/bundles.ts, which the bundle-size test
(tests/unit/bench/bundle-size.test.ts) builds with too. What a function calls is read from its
bundle: the \`@aws-sdk/client-*\` packages with code in it (none: no AWS call; one: one service;
more: several), and "reads a target" when it holds the target model (shared/config/schema.ts); so
every folder of functions/ is in the table and held to its kind's goal without a hand list. Two
baselines are bundled the same way and timed in the same run, before and after the functions: a
minimal middy + logger handler, and the same with one SSM client at module scope; the × baseline
column divides a function's median by the first (no AWS call) or the second (AWS calls).
Size is what a cold start loads: the entry file and the chunks it imports statically (esbuild's
metafile, imports of kind \`import-statement\`, followed from the entry); the chunks only a dynamic
import reaches are reported apart ("lazy", with the services only they call), and the calls and
kind of a function are read from what its cold start loads. A second build leaves \`@aws-sdk/*\` and \`@smithy/*\` external (as if
using the runtime's SDK), and its cold import is timed for the largest function. Cold import: a fresh \`node_modules/.bin/node\` (Node 24) process per
sample measures \`performance.now()\` around \`await import(entry file)\` (its static chunks load with it; module scope included: SDK
clients and logger are created), with a Lambda-like environment and no credentials; median of N
processes, run one after another. The heaviest inputs come from esbuild's metafile
(\`bytesInOutput\`, grouped by package). Import variants bundle a one-line entry the same way, to
show what one import costs and what a fixed handler would weigh. The Lambda runtime's own start
(INIT of the sandbox) is not included.

**4. Local engine.** The deploy workflow with no-op handlers (each returns the shape the next
state needs, instantly), executed back to back on one engine instance for a fixed time; executions
per second = completed executions / elapsed seconds.

**6. Cold runs.** Each workflow's common path (a 1-host deploy, a failed deploy with its rollback, a
dump backup, a health round, a restart runbook) runs twice on the local engine with the real
handlers and local drivers; the functions of the path are the distinct \`functionName\`s the engine
recorded in the second run's trace (a function invoked several times starts cold once). Each is
bundled as in section 3 and imported in fresh processes, in rounds over the two baselines and all
the functions (so a change of load touches them alike); the path's summed cold import and its warm
overhead (the second run's wall time minus what the run waits for by design: the scripts' own
timed spans, a failing health gate's wait) are divided by the one-client baseline's median.
`;
