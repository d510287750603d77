/**
 * Each function's IAM policy as the stacks deploy it: the stacks run under Pulumi's mock runtime
 * (tests/infra/harness.ts) for a stage of the given targets, and each Lambda's role statements are
 * read back and keyed by the function it runs (`functions/<name>`). A function deployed more than
 * once (the lock functions in deploy and recover, answer-approval on two routes) has one policy per
 * deployment: a call must be allowed by each of them.
 */
import type { StageSettings } from '../../stacks/settings.ts';
import {
  functionRoles,
  type MockRun,
  type PolicyStatement,
  REGION,
  runUnderMocks,
} from '../infra/harness.ts';
import { ensureSstPlatform } from '../infra/sst-install.ts';

/** One deployment of a function: the component (role `<component>Role`) and its statements. */
export interface DeployedPolicy {
  component: string;
  statements: PolicyStatement[];
  /** The API routes this deployment serves (`GET /approvals/{runId}/{decision}`), if any. */
  routes?: string[];
}

/** The deployed policies of each function, by `functions/<name>` folder. */
export type FunctionPolicies = Map<string, DeployedPolicy[]>;

/**
 * Renders the stacks of a stage serving `targets`, deployed in `region`, and returns each function's policies.
 *
 * @example
 * const policies = await renderFunctionPolicies(stageOf([findTarget('docsai')]));
 * policies.get('prune-backups')?.[0]?.statements;
 */
export async function renderFunctionPolicies(
  settings: StageSettings,
  region = REGION,
): Promise<FunctionPolicies> {
  ensureSstPlatform();
  const run = await runUnderMocks(
    async () => (await import('../../stacks/index.ts')).createStacks({ settings }),
    settings.stage,
    region,
  );
  const routes = routesByComponent(run);
  const policies: FunctionPolicies = new Map();
  for (const { folder, component, statements } of functionRoles(run)) {
    const list = policies.get(folder) ?? [];
    const served = routes.get(component);
    list.push({ component, statements, ...(served ? { routes: served } : {}) });
    policies.set(folder, list);
  }
  return policies;
}

/** The API routes each function component serves: route → integration → the Lambda it invokes. */
function routesByComponent(run: MockRun<unknown>): Map<string, string[]> {
  const served = new Map<string, string[]>();
  for (const route of run.ofType('aws:apigatewayv2/route:Route')) {
    const integrationName = String(route.inputs.target)
      .replace(/^integrations\//, '')
      .replace(/-id$/, '');
    const integration = run
      .ofType('aws:apigatewayv2/integration:Integration')
      .find((i) => i.name === integrationName);
    const fn = run
      .ofType('aws:lambda/function:Function')
      .find((f) => integration && f.state.arn === integration.inputs.integrationUri);
    if (!fn) continue;
    const component = fn.name.replace(/Function$/, '');
    served.set(component, [...(served.get(component) ?? []), String(route.inputs.routeKey)]);
  }
  return served;
}

/**
 * The settings of a stage (`test` unless named) serving `targets`, with the stage's default parameter names
 * (and no status page unless asked).
 *
 * @example
 * stageOf([findTarget('docsai') as Ec2Target]).parameters.apiTokenHash // '/stepops/test/api-token-sha256'
 */
export function stageOf(
  targets: readonly StageSettings['targets'][number][],
  stage = 'test',
  /** Optional parts of the stage: a status page deploys publish-status-page. */
  options: { statusPage?: StageSettings['statusPage'] } = {},
): StageSettings {
  return {
    stage,
    targets: [...targets],
    skippedLocalTargets: [],
    ...(options.statusPage ? { statusPage: options.statusPage } : {}),
    parameters: {
      githubWebhookSecret: `/stepops/${stage}/github-webhook-secret`,
      apiTokenHash: `/stepops/${stage}/api-token-sha256`,
      slackWebhookUrl: `/stepops/${stage}/slack-webhook-url`,
    },
  };
}
