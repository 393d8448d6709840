// The local cloud (DESIGN §7): every AWS service the app uses, on loopback, built from the
// synthesized templates. Handlers reach the emulators only through the SDK's
// AWS_ENDPOINT_URL_<SERVICE> variables, so they run unchanged.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SIGN_IN_ENV } from '../../lib/http/sign-in.js';
import { SES_PRODUCTION_ACCESS } from '../config.js';
import { startLocalApi } from './api/index.js';
import { runCustomResources } from './custom-resources.js';
import { DEFAULT_REGION, DEVELOPER_CREDENTIALS } from './developer.js';
import { type LocalDynamoDb, startLocalDynamoDb } from './dynamodb.js';
import { startDynamoDbObserver } from './dynamodb-observer.js';
import { startAuthorisingGateway } from './iam/gateway.js';
import { LocalIam } from './iam/index.js';
import {
  dynamoDbMapping,
  kmsMapping,
  sesMapping,
  sqsMapping,
  stepFunctionsMapping,
  stsMapping,
} from './iam/services.js';
import { startLocalIssuer } from './issuer/index.js';
import { startLocalKms } from './kms.js';
import { LocalLambdaRuntime } from './lambda/runtime.js';
import { againIfPortTaken, claimPort, type ServiceName } from './ports.js';
import { provisionTables, templateBuckets, templateKmsKeys, templateTables } from './provision.js';
import { startLocalS3 } from './s3/index.js';
import { LocalScheduler, templateSchedules } from './scheduler.js';
import { type SesRules, startLocalSes } from './ses.js';
import { startLocalStepFunctions } from './sfn/index.js';
import { provisionQueues, QueuePoller, startLocalSqs, templateEventSourceMappings } from './sqs.js';
import { ensureAssembly } from './synth.js';
import {
  accountOf,
  LOCAL_ACCOUNT,
  loadAssembly,
  physicalName,
  type StackTemplate,
  TemplateResolver,
} from './template.js';

export { DEVELOPER_CREDENTIALS, LOCAL_CREDENTIALS } from './developer.js';

export interface Endpoints {
  api: string;
  mail: string;
  s3: string;
  dynamodb: string;
  sqs: string;
  sfn: string;
  kms: string;
  /** The local STS (AssumeRole, GetCallerIdentity). */
  sts: string;
  /** Base URL of the local JWT issuer (JWKS, openid-configuration). */
  issuer: string;
  /** The `iss` value tokens carry, as the template's JWT authorizer expects it. */
  jwtIssuer: string;
  audience: string[];
  region: string;
  /** The developer's all-powerful key pair (see DEVELOPER_CREDENTIALS). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Says what `credentials` are, for whoever reads endpoints.json. */
  credentialsAre: string;
  /** Each function's, the state machine's and each schedule's role, by logical id: assume one for its view. */
  roles: Record<string, string>;
  /** The account each stack runs in (a vendor site in its own account when the config says so). */
  accounts: Record<string, string>;
  /** Stack outputs, resolved to local values, by stack artifact id (like `cdk deploy --outputs-file`). */
  outputs: Record<string, Record<string, string>>;
  tables: { registry: string };
}

export interface LocalCloudOptions {
  root: string;
  dataDir: string;
  assemblyDir: string;
  ports: Record<ServiceName, number>;
  region?: string;
  /** Keep DynamoDB in memory (tests); default is on disk under dataDir. */
  inMemory?: boolean;
  /** Speeds up Step Functions waits and timeouts (tests). */
  timeScale?: number;
  log?: (line: string) => void;
  /** Stage config overrides to synthesize with, as JSON (`-c config=…`), e.g. another identity preset. */
  stageConfig?: string;
  /** Called with the operation of every DynamoDB call the cloud's functions and state machines make (bench). */
  observeDynamoDb?: (operation: string, body?: string) => void;
  /** Length of the role sessions of functions, the state machine and schedules (default 3600 s). */
  sessionSeconds?: number;
  /** Bench only: false turns every IAM check off (signatures are still verified). */
  enforceIam?: boolean;
  /** Called once the stores exist, before the endpoints are written (seeds demo data). */
  seed?: (endpoints: Endpoints) => Promise<void>;
  /** DynamoDB Local, already starting (npm start spawns its JVM before it loads the rest). */
  dynamodb?: Promise<LocalDynamoDb>;
}

export interface LocalCloud {
  endpoints: Endpoints;
  runtime: LocalLambdaRuntime;
  scheduler: LocalScheduler;
  /** Creates a bucket in the local S3 (idempotent), optionally with server access logs. */
  createBucket(
    name: string,
    options?: { accessLog?: { targetBucket: string; prefix: string } },
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the local cloud. A port asked for as 0 is found free and bound a moment later, so
 * another process (a second cloud of the test suite, say) may take it in between: such a start
 * is stopped and made again with fresh ports. A DynamoDB Local handed in is stopped with a
 * failed start, so that start is not made again.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const freePorts = Object.values(options.ports).some((port) => port === 0);
  if (!freePorts || options.dynamodb) return startLocalCloudOnce(options);
  return againIfPortTaken(() => startLocalCloudOnce(options), 3, options.log);
}

async function startLocalCloudOnce(options: LocalCloudOptions): Promise<LocalCloud> {
  const log = options.log ?? (() => {});
  const region = options.region ?? DEFAULT_REGION;
  const credentials = DEVELOPER_CREDENTIALS;
  mkdirSync(options.dataDir, { recursive: true });
  // Progress: each emulator says when it is up (DynamoDB Local's JVM is the slow one).
  const since = Date.now();
  const up = <T extends { url: string }>(name: string, starting: Promise<T>) =>
    starting.then((service) => {
      log(`${name} up at ${service.url} (${((Date.now() - since) / 1000).toFixed(1)} s)`);
      return service;
    });
  // DynamoDB Local needs nothing from the templates: its JVM boots while the app is synthesized
  // (or, on a restart, while the assembly is read).
  if (!options.dynamodb) log('starting DynamoDB Local (a JVM)…');
  const dynamodbStarting = up(
    'DynamoDB Local',
    options.dynamodb ??
      startLocalDynamoDb({
        port: await claimPort('dynamodb (internal)', 0),
        region,
        credentials,
        ...(options.inMemory ? {} : { dataDir: join(options.dataDir, 'dynamodb') }),
      }),
  );
  dynamodbStarting.catch(() => {}); // awaited below; a synth failure stops it first
  let stacks: StackTemplate[];
  const ports = {} as Record<ServiceName, number>;
  try {
    await ensureAssembly(options.root, options.assemblyDir, log, options.stageConfig ?? '');
    stacks = loadAssembly(options.assemblyDir);
    checkAccounts(stacks);
    // Every port is checked before the other emulators start, so a clash is reported by name.
    // Not before the synth: a port found free then may be another process's by the time it binds.
    for (const [service, port] of Object.entries(options.ports) as Array<[ServiceName, number]>) {
      ports[service] = await claimPort(service, port);
    }
  } catch (error) {
    await dynamodbStarting.then(
      (dynamodb) => dynamodb.stop(),
      () => {},
    );
    throw error;
  }

  const url = (service: ServiceName) => `http://127.0.0.1:${ports[service]}`;
  const stoppers: Array<() => Promise<void> | void> = [
    () =>
      dynamodbStarting.then(
        (dynamodb) => dynamodb.stop(),
        () => {},
      ),
  ];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`stop: ${String(error)}`);
      }
    }
  };

  try {
    const jwtAuthorizers = templateJwtAuthorizers(stacks);
    log('starting the other emulators: SQS, SES, the JWT issuer, KMS, S3, Step Functions…');
    const [dynamodb, sqs, ses, issuer] = await Promise.all([
      dynamodbStarting,
      up('SQS (fauxqs)', startLocalSqs({ port: 0, region, dataDir: options.dataDir })),
      up(
        'SES and the mailbox',
        startLocalSes({
          port: 0,
          dataDir: options.dataDir,
          rules: { ...templateSesRules(stacks), region },
        }),
      ),
      up(
        'JWT issuer',
        startLocalIssuer({
          port: ports.issuer,
          dataDir: options.dataDir,
          issuer: jwtAuthorizers[0]?.issuer ?? 'https://issuer.upman.local/dev',
          audience: jwtAuthorizers[0]?.audience ?? [],
        }),
      ),
    ]);
    stoppers.push(sqs.stop, ses.stop, issuer.stop);
    // KMS: the release-metadata signing keys (CreateKey, GetPublicKey, Sign).
    // Behind its IAM gateway (below): the gateway verifies and authorises, the KMS checks nothing.
    const kms = await startLocalKms({ port: 0, region, dataDir: join(options.dataDir, 'kms') });
    stoppers.push(kms.stop);
    // The functions and the state machines reach DynamoDB through the observer when there is one.
    const observer = options.observeDynamoDb
      ? await startDynamoDbObserver(dynamodb.url, options.observeDynamoDb)
      : undefined;
    if (observer) stoppers.push(observer.stop);
    const dynamoDbUrl = observer?.url ?? dynamodb.url;

    // Queue URLs name the public (gateway) port: fauxqs forms them from the request's Host.
    const resolver = new TemplateResolver(stacks, {
      region,
      sqsEndpoint: url('sqs'),
      apiEndpoint: url('api'),
    });
    const iam = new LocalIam({
      resolver,
      region,
      account: LOCAL_ACCOUNT,
      developer: credentials,
      dataDir: options.dataDir,
      serviceResourcePolicy: (arn) => (arn.includes(':kms:') ? kms.keyPolicy(arn) : undefined),
      ...(options.sessionSeconds ? { sessionSeconds: options.sessionSeconds } : {}),
      ...(options.enforceIam === false ? { enforce: false } : {}),
    });
    const where = { region, account: LOCAL_ACCOUNT };
    const gateway = (
      port: number,
      upstream: string,
      mapping: Parameters<typeof startAuthorisingGateway>[0]['mapping'],
    ) =>
      startAuthorisingGateway({
        port,
        upstream: { port: Number(new URL(upstream).port) },
        mapping,
        store: iam.store,
        authorizer: iam.authorizer,
      });
    const [s3, dynamoGateway, sqsGateway, sesGateway, stsGateway, kmsGateway] = await Promise.all([
      up(
        'S3 (s3rver behind SigV4 and IAM)',
        startLocalS3({
          port: ports.s3,
          dataDir: join(options.dataDir, 's3'),
          region,
          credentials: iam.s3Key,
          authorize: iam.s3Authorize,
          principalArn: iam.s3Requester,
        }),
      ),
      // Through the observer when there is one (bench): the gateway forwards what it allows.
      gateway(ports.dynamodb, dynamoDbUrl, dynamoDbMapping(where)),
      gateway(ports.sqs, sqs.url, sqsMapping(where, queueAccounts(resolver))),
      gateway(ports.mail, ses.url, sesMapping(where)),
      startAuthorisingGateway({
        port: ports.sts,
        upstream: async (caller, req) => {
          const answer = await iam.sts.handle(caller, req.body.toString('utf8'));
          return { status: answer.status, headers: { 'content-type': 'text/xml' }, body: answer.xml };
        },
        mapping: stsMapping(),
        store: iam.store,
        authorizer: iam.authorizer,
      }),
      up(
        'KMS (behind the IAM gateway)',
        gateway(
          ports.kms,
          kms.url,
          kmsMapping(where, (id) => kms.keyArn(id)),
        ),
      ),
    ]);
    stoppers.push(
      s3.stop,
      dynamoGateway.stop,
      sqsGateway.stop,
      sesGateway.stop,
      stsGateway.stop,
      kmsGateway.stop,
    );

    const clientConfig = { region, credentials };
    const dynamoClient = new DynamoDBClient({ ...clientConfig, endpoint: dynamoGateway.url });
    const sqsClient = new SQSClient({ ...clientConfig, endpoint: sqsGateway.url });
    stoppers.push(
      () => dynamoClient.destroy(),
      () => sqsClient.destroy(),
    );

    await provisionTables(dynamoClient, templateTables(resolver));
    // The stacks' own keys (the vendor site's TUF snapshot and timestamp keys).
    for (const key of templateKmsKeys(resolver)) kms.provisionKey(key);
    const queueUrls = await provisionQueues(
      sqsClient,
      resolver,
      options.inMemory ? undefined : options.dataDir,
    );
    for (const u of queueUrls) sqs.persistedQueues.add(u.split('/').pop()!);
    const buckets = templateBuckets(resolver);
    // Log targets first: a bucket's access logs need their bucket to exist.
    for (const bucket of [...buckets].sort(
      (a, b) => Number(Boolean(a.accessLog)) - Number(Boolean(b.accessLog)),
    )) {
      await s3.createBucket(bucket.name, bucket.accessLog ? { accessLog: bucket.accessLog } : undefined);
    }

    const baseEnv: Record<string, string> = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoGateway.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_SQS: sqsGateway.url,
      AWS_ENDPOINT_URL_SFN: url('sfn'),
      AWS_ENDPOINT_URL_SESV2: sesGateway.url,
      AWS_ENDPOINT_URL_SES: sesGateway.url,
      AWS_ENDPOINT_URL_STS: stsGateway.url,
      AWS_ENDPOINT_URL_KMS: kmsGateway.url,
      UPMAN_LOCAL: '1',
    };
    const runtime = LocalLambdaRuntime.fromTemplate(resolver, baseEnv, {
      credentials: async (fn) => {
        const role = iam.executionRole(fn.arn);
        if (!role) throw new Error(`${fn.name}: the template gives it no execution role`);
        return iam.sts.credentialsFor('lambda.amazonaws.com', role, fn.name, iam.sessionSeconds, fn.arn);
      },
    });
    stoppers.push(() => runtime.stop());
    // Sign-in (SIGN_IN) names the template's issuer, which the development issuer stands in for
    // on loopback: the browser (or a test) is sent to the local issuer's authorize and token endpoints.
    const templateIssuer = jwtAuthorizers[0]?.issuer;
    if (templateIssuer) {
      const localIssuer = `${issuer.url}${new URL(templateIssuer).pathname.replace(/\/$/, '')}`;
      for (const fn of runtime.functions) {
        const signIn = fn.environment[SIGN_IN_ENV];
        if (signIn)
          fn.environment[SIGN_IN_ENV] = signIn.split(templateIssuer.replace(/\/$/, '')).join(localIssuer);
      }
    }

    // A state machine runs its integrations with its own role: through the gateways, with its
    // session. A machine created through the API with a role the templates do not define (the
    // emulator's own tests) runs with the developer's key pair.
    const stateMachines = templateStateMachines(resolver);
    const developerDeps = {
      invokeLambda: (name: string, payload: unknown) => runtime.invoke(name, payload),
      clients: { dynamodb: dynamoClient, sqs: sqsClient },
    };
    const depsByRole = new Map<string, typeof developerDeps>();
    const integrationsFor = (machine: { arn: string; roleArn?: string }) => {
      const roleArn = machine.roleArn;
      if (!roleArn || !iam.policies.roles.has(roleArn)) return developerDeps;
      let deps = depsByRole.get(roleArn);
      if (!deps) {
        const roleCredentials = iam.roleCredentials(
          'states.amazonaws.com',
          roleArn,
          'local-step-functions',
          machine.arn,
        );
        const dynamodb = new DynamoDBClient({
          region,
          credentials: roleCredentials,
          endpoint: dynamoGateway.url,
        });
        const sqs = new SQSClient({ region, credentials: roleCredentials, endpoint: sqsGateway.url });
        stoppers.push(
          () => dynamodb.destroy(),
          () => sqs.destroy(),
        );
        deps = {
          invokeLambda: async (name: string, payload: unknown) => {
            const fn = runtime.find(name);
            if (fn) {
              await iam.authorizeAs(roleArn, {
                action: 'lambda:InvokeFunction',
                resource: fn.arn,
                resourceAccount: fn.arn.split(':')[4]!,
              });
            }
            return runtime.invoke(name, payload);
          },
          clients: { dynamodb, sqs },
        };
        depsByRole.set(roleArn, deps);
      }
      return deps;
    };
    const sfnInternal = await startLocalStepFunctions({
      port: 0,
      region,
      dataDir: join(options.dataDir, 'sfn'),
      stateMachines,
      ...developerDeps,
      integrationsFor,
      ...(options.timeScale ? { timeScale: options.timeScale } : {}),
    });
    stoppers.push(sfnInternal.stop);
    const sfn = await gateway(
      ports.sfn,
      sfnInternal.url,
      stepFunctionsMapping(where, (token) => sfnInternal.stateMachineOfToken(token)),
    );
    stoppers.push(sfn.stop);
    log(`Step Functions up at ${sfn.url} (${((Date.now() - since) / 1000).toFixed(1)} s)`);

    const api = await startLocalApi({
      port: ports.api,
      resolver,
      runtime,
      issuers: Object.fromEntries(jwtAuthorizers.map((a) => [a.issuer, issuer.jwksUrl])),
      mayInvoke: (functionArn, sourceArn) => iam.mayInvokeFromApi(functionArn, sourceArn),
    });
    stoppers.push(api.stop);
    log(`API up at ${api.url} (${((Date.now() - since) / 1000).toFixed(1)} s)`);

    for (const mapping of templateEventSourceMappings(resolver)) {
      const queueUrl = resolver.queueUrl(mapping.queueName);
      // Lambda's poller reads the queue with the function's execution role.
      const fn = runtime.find(mapping.functionName);
      const role = fn ? iam.executionRole(fn.arn) : undefined;
      const pollerClient = role
        ? new SQSClient({
            region,
            endpoint: sqsGateway.url,
            credentials: iam.roleCredentials(
              'lambda.amazonaws.com',
              role,
              `${mapping.functionName}-poller`,
              fn?.arn,
            ),
          })
        : sqsClient;
      if (pollerClient !== sqsClient) stoppers.push(() => pollerClient.destroy());
      const poller = new QueuePoller(
        pollerClient,
        queueUrl,
        resolver.arn('sqs', mapping.queueName),
        mapping,
        (fn, event) => runtime.invoke(fn, event),
        region,
        (error) => log(`sqs ${mapping.queueName} → ${mapping.functionName}: ${String(error)}`),
      );
      stoppers.push(() => poller.stop());
    }

    const schedules = templateSchedules(resolver);
    const scheduler = new LocalScheduler(
      schedules,
      async (target, input) => {
        // EventBridge Scheduler invokes the target with the schedule's role.
        const role = schedules
          .filter((sc) => sc.target === target)
          .map((sc) => iam.executionRole(`schedule:${sc.id}`))
          .find(Boolean);
        const fn = runtime.find(target);
        if (role && fn)
          await iam.authorizeAs(role, {
            action: 'lambda:InvokeFunction',
            resource: fn.arn,
            resourceAccount: fn.arn.split(':')[4]!,
          });
        return runtime.invoke(target, input);
      },
      (schedule, error) => log(`schedule ${schedule.id}: ${String(error)}`),
    );
    scheduler.start();
    stoppers.push(() => scheduler.stop());

    const outputs: Endpoints['outputs'] = {};
    for (const stack of stacks) {
      outputs[stack.artifactId] = {};
      for (const [name, output] of Object.entries(stack.template.Outputs ?? {})) {
        outputs[stack.artifactId]![name] = String(resolver.resolve(stack, output.Value));
      }
    }
    const endpoints: Endpoints = {
      api: api.url,
      mail: sesGateway.url,
      kms: kmsGateway.url,
      s3: s3.url,
      dynamodb: dynamoGateway.url,
      sqs: sqsGateway.url,
      sfn: sfn.url,
      sts: stsGateway.url,
      issuer: issuer.url,
      jwtIssuer: jwtAuthorizers[0]?.issuer ?? '',
      audience: jwtAuthorizers[0]?.audience ?? [],
      region,
      credentials,
      credentialsAre:
        "the developer's key pair: all-powerful, no policy evaluated. For a function's view: aws sts assume-role --role-arn <roles[...]>",
      roles: Object.fromEntries(
        [...iam.policies.executionRoles.entries()].map(([resource, role]) => [
          resource.startsWith('schedule:') ? resource : resource.split(':').pop()!,
          role,
        ]),
      ),
      accounts: Object.fromEntries(stacks.map((s) => [s.artifactId, accountOf(s)])),
      outputs,
      tables: { registry: outputs.UpdateManagementStack?.RegistryTableName ?? '' },
    };
    // As a deploy would: custom resources (the department migration) before anything uses the data.
    const dataOnDisk = options.inMemory ? undefined : options.dataDir;
    for (const line of await runCustomResources(stacks, resolver, runtime, region, dataOnDisk))
      log(`deploy step ${line}`);
    if (options.seed) await options.seed(endpoints);
    // The SDK marks credential objects it was given (an internal `$source`): write a clean pair.
    const { accessKeyId, secretAccessKey } = credentials;
    const file = { ...endpoints, credentials: { accessKeyId, secretAccessKey } };
    writeFileSync(join(options.dataDir, 'endpoints.json'), `${JSON.stringify(file, null, 2)}\n`);
    return {
      endpoints,
      runtime,
      scheduler,
      createBucket: (name, o) => s3.createBucket(name, o),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Tables, state machines and the API are kept in the local account only (the gateways and the
 * local SFN know one); another account, such as a vendor site's own, may hold buckets, queues, keys,
 * roles, functions and schedules. A stack elsewhere that needs more fails the start, by name.
 */
const SINGLE_ACCOUNT_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::StepFunctions::StateMachine',
  'AWS::ApiGatewayV2::Api',
];

/** Which account owns each queue, by name: fauxqs puts every URL in the local account. */
function queueAccounts(resolver: TemplateResolver): Map<string, string> {
  return new Map(
    resolver
      .resourcesOfType('AWS::SQS::Queue')
      .map(({ stack, logicalId }) => [resolver.queueName(stack, logicalId), accountOf(stack)]),
  );
}
export function checkAccounts(stacks: StackTemplate[]): void {
  for (const stack of stacks) {
    if (accountOf(stack) === LOCAL_ACCOUNT) continue;
    const found = Object.values(stack.template.Resources).find((r) => SINGLE_ACCOUNT_TYPES.includes(r.Type));
    if (found) {
      throw new Error(
        `${stack.artifactId} is in account ${accountOf(stack)}, but the local cloud keeps ${found.Type} resources in ${LOCAL_ACCOUNT} only: locally, env.account must be ${LOCAL_ACCOUNT} (or unset); vendorEnv.account may be another`,
      );
    }
  }
}

/** SES as the templates set it up: verified identities, configuration sets, sandbox or not. */
export function templateSesRules(stacks: StackTemplate[]): SesRules {
  const rules: SesRules = { identities: [], configurationSets: [], sandbox: true };
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type === 'AWS::SES::EmailIdentity') {
        const identity = resource.Properties?.EmailIdentity;
        if (typeof identity === 'string') rules.identities.push(identity);
        // The stage config says the account has left the sandbox (cdk/constructs/mailer.ts).
        if ((resource.Metadata as Record<string, unknown> | undefined)?.[SES_PRODUCTION_ACCESS] === true) {
          rules.sandbox = false;
        }
      }
      if (resource.Type === 'AWS::SES::ConfigurationSet') {
        const name = resource.Properties?.Name;
        rules.configurationSets.push(
          typeof name === 'string' ? name : physicalName(resource.Type, logicalId, stack.stackName),
        );
      }
    }
  }
  return rules;
}

/** JWT authorizers of the HTTP APIs: issuer and audience, as API Gateway reads them. */
export function templateJwtAuthorizers(
  stacks: StackTemplate[],
): Array<{ issuer: string; audience: string[] }> {
  const found: Array<{ issuer: string; audience: string[] }> = [];
  for (const stack of stacks) {
    for (const resource of Object.values(stack.template.Resources)) {
      if (resource.Type !== 'AWS::ApiGatewayV2::Authorizer') continue;
      const jwt = resource.Properties?.JwtConfiguration as
        | { Issuer?: string; Audience?: string[] }
        | undefined;
      if (jwt?.Issuer) found.push({ issuer: jwt.Issuer, audience: jwt.Audience ?? [] });
    }
  }
  return found;
}

/** State machines with their definitions, substitutions applied as CloudFormation would. */
export function templateStateMachines(resolver: TemplateResolver) {
  return resolver
    .resourcesOfType('AWS::StepFunctions::StateMachine')
    .map(({ stack, logicalId, resource }) => {
      const props = resource.Properties ?? {};
      let definition: string;
      if (props.DefinitionString !== undefined) {
        definition = resolver.resolveString(stack, props.DefinitionString);
      } else {
        // DefinitionBody.fromFile: the definition is a file asset, staged in cdk.out as asset.<key>.
        const key = (props.DefinitionS3Location as { Key?: string } | undefined)?.Key;
        if (!key) throw new Error(`${logicalId}: neither DefinitionString nor DefinitionS3Location`);
        definition = readFileSync(join(stack.assemblyDir, `asset.${key}`), 'utf8');
      }
      const substitutions = resolver.resolve(stack, props.DefinitionSubstitutions ?? {}) as Record<
        string,
        unknown
      >;
      definition = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (match, name: string) =>
        substitutions[name] === undefined ? match : String(substitutions[name]),
      );
      return {
        name: logicalId,
        arn: resolver.arn('states', `stateMachine:${logicalId}`, stack),
        definition,
        ...(props.RoleArn ? { roleArn: resolver.resolveString(stack, props.RoleArn) } : {}),
      };
    });
}
