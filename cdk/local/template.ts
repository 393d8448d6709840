// Reads the synthesized CloudFormation templates in cdk.out and resolves their intrinsic
// functions to the names the local cloud gives each resource. Everything the local cloud
// creates (tables, buckets, queues, routes, functions, state machines, schedules) comes
// from here, so there is no second list of resources to keep in step with the CDK app.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
}

export interface StackTemplate {
  /** Artifact id in cdk.out, e.g. "UpdateManagementStack". */
  artifactId: string;
  stackName: string;
  template: CfnTemplate;
  /** Directory of cdk.out, for resolving asset paths. */
  assemblyDir: string;
  /** The account the stack's environment names (aws://<account>/…), when it names one. */
  account?: string;
}

/** Runtime facts the resolver needs that are not in the template. */
export interface ResolveContext {
  region: string;
  /** Base URL of the SQS emulator, used to build queue URLs. */
  sqsEndpoint: string;
  /** Base URL of the local HTTP API. */
  apiEndpoint: string;
}

interface ManifestArtifact {
  type: string;
  environment?: string;
  properties?: { templateFile?: string; stackName?: string };
  displayName?: string;
}

/** Loads every stack template of a cloud assembly (cdk.out). */
export function loadAssembly(assemblyDir: string): StackTemplate[] {
  const manifestPath = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(`No cloud assembly at ${assemblyDir}: run "npx cdk synth" first`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    artifacts: Record<string, ManifestArtifact>;
  };
  const stacks: StackTemplate[] = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = JSON.parse(
      readFileSync(join(assemblyDir, artifact.properties.templateFile), 'utf8'),
    ) as CfnTemplate;
    const account = /^aws:\/\/(\d{12})\//.exec(artifact.environment ?? '')?.[1];
    stacks.push({
      artifactId,
      stackName: artifact.properties.stackName ?? artifactId,
      template,
      assemblyDir,
      ...(account ? { account } : {}),
    });
  }
  return stacks;
}

/** The physical name the local cloud gives a resource: its logical id, lower-cased for buckets. */
export function physicalName(type: string, logicalId: string, stackName: string): string {
  if (type === 'AWS::S3::Bucket') {
    return `${stackName}-${logicalId}`
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .slice(0, 63);
  }
  return logicalId;
}

/**
 * Resolves CloudFormation intrinsic functions across all stacks of the assembly.
 * Unknown references throw, so a template feature the local cloud does not know is
 * noticed at start-up rather than as a wrong value at run time.
 */
export class TemplateResolver {
  private readonly exports = new Map<string, unknown>();

  constructor(
    readonly stacks: StackTemplate[],
    private readonly ctx: ResolveContext,
  ) {
    for (const stack of stacks) {
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        if (output.Export) {
          const name = this.resolve(stack, output.Export.Name);
          this.exports.set(String(name), { stack, value: output.Value });
        }
      }
    }
  }

  /** All resources of a given type, across stacks. */
  resourcesOfType(type: string): Array<{ stack: StackTemplate; logicalId: string; resource: CfnResource }> {
    const found: Array<{ stack: StackTemplate; logicalId: string; resource: CfnResource }> = [];
    for (const stack of this.stacks) {
      for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
        if (resource.Type === type) found.push({ stack, logicalId, resource });
      }
    }
    return found;
  }

  findResource(stack: StackTemplate, logicalId: string): CfnResource {
    const resource = stack.template.Resources[logicalId];
    if (!resource) throw new Error(`${stack.artifactId}: no resource ${logicalId}`);
    return resource;
  }

  /** Resolves a property value: strings, arrays, objects and intrinsic functions. */
  resolve(stack: StackTemplate, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const key = keys[0]!;
      const arg = obj[key];
      switch (key) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [logicalId, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(stack, String(logicalId), String(attr));
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(stack, parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          const items = this.resolve(stack, list) as unknown[];
          return items[Number(this.resolve(stack, index))];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, unknown];
          return String(this.resolve(stack, source)).split(sep);
        }
        case 'Fn::Sub':
          return this.sub(stack, arg);
        case 'Fn::ImportValue':
          return this.importValue(String(this.resolve(stack, arg)));
        case 'Fn::If':
        case 'Fn::Equals':
        case 'Fn::GetAZs':
        case 'Fn::FindInMap':
          throw new Error(`${stack.artifactId}: the local cloud does not support ${key}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.resolve(stack, v);
    return out;
  }

  resolveString(stack: StackTemplate, value: unknown): string {
    const resolved = this.resolve(stack, value);
    if (typeof resolved !== 'string') throw new Error(`Expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  /** An ARN in the stack's account (the local account when none is given or the stack names none). */
  arn(service: string, resource: string, stack?: StackTemplate): string {
    return `arn:aws:${service}:${this.ctx.region}:${accountOf(stack)}:${resource}`;
  }

  /** Queue URL as the local SQS forms it: <endpoint>/<account>/<name>. */
  queueUrl(name: string): string {
    return `${this.ctx.sqsEndpoint.replace(/\/$/, '')}/${LOCAL_ACCOUNT}/${name}`;
  }

  private importValue(name: string): unknown {
    const entry = this.exports.get(name) as { stack: StackTemplate; value: unknown } | undefined;
    if (!entry) throw new Error(`No stack exports ${name}`);
    return this.resolve(entry.stack, entry.value);
  }

  private pseudo(stack: StackTemplate, name: string): string | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.ctx.region;
      case 'AWS::AccountId':
        return accountOf(stack);
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${stack.stackName}/local`, stack);
      case 'AWS::NoValue':
        return undefined;
      default:
        return undefined;
    }
  }

  private ref(stack: StackTemplate, name: string): unknown {
    if (name.startsWith('AWS::')) return this.pseudo(stack, name);
    const parameter = stack.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Default === undefined)
        throw new Error(`${stack.artifactId}: parameter ${name} has no default`);
      return parameter.Default;
    }
    const resource = this.findResource(stack, name);
    const physical = this.physical(stack, name, resource);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return this.queueUrl(this.queueName(stack, name));
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${physical}`, stack);
      case 'AWS::ApiGatewayV2::Api':
        return physical.toLowerCase();
      case 'AWS::SES::EmailIdentity':
        // Ref gives the identity itself (the domain or address), as CloudFormation does.
        return this.resolveString(stack, resource.Properties?.EmailIdentity);
      default:
        return physical;
    }
  }

  /**
   * A role keeps the RoleName its template gives it (bucket policies match roles by that name), a
   * bucket its BucketName (another stack may name it literally: a vendor site in another account).
   */
  physical(stack: StackTemplate, logicalId: string, resource: CfnResource): string {
    if (resource.Type === 'AWS::IAM::Role' && resource.Properties?.RoleName !== undefined) {
      return this.resolveString(stack, resource.Properties.RoleName);
    }
    if (resource.Type === 'AWS::S3::Bucket' && resource.Properties?.BucketName !== undefined) {
      return this.resolveString(stack, resource.Properties.BucketName);
    }
    return physicalName(resource.Type, logicalId, stack.stackName);
  }

  queueName(stack: StackTemplate, logicalId: string): string {
    const resource = this.findResource(stack, logicalId);
    const fifo = resource.Properties?.FifoQueue === true;
    return fifo ? `${logicalId}.fifo` : logicalId;
  }

  private getAtt(stack: StackTemplate, logicalId: string, attr: string): unknown {
    const resource = this.findResource(stack, logicalId);
    const physical = this.physical(stack, logicalId, resource);
    const key = `${resource.Type}.${attr}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return this.arn('dynamodb', `table/${physical}`, stack);
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return this.arn('dynamodb', `table/${physical}/stream/local`, stack);
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${physical}`;
      case 'AWS::S3::Bucket.DomainName':
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${physical}.s3.${this.ctx.region}.amazonaws.com`;
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', this.queueName(stack, logicalId), stack);
      case 'AWS::SQS::Queue.QueueName':
        return this.queueName(stack, logicalId);
      case 'AWS::SQS::Queue.QueueUrl':
        return this.queueUrl(this.queueName(stack, logicalId));
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${physical}`, stack);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.arn('states', `stateMachine:${physical}`, stack);
      case 'AWS::StepFunctions::StateMachine.Name':
        return physical;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${accountOf(stack)}:role/${physical}`;
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${physical}:*`, stack);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return this.ctx.apiEndpoint;
      case 'AWS::SES::ConfigurationSet.Name':
        return physical;
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${physical}`, stack);
      case 'AWS::Scheduler::ScheduleGroup.Arn':
        return this.arn('scheduler', `schedule-group/${physical}`, stack);
      default:
        throw new Error(
          `${stack.artifactId}: the local cloud cannot resolve Fn::GetAtt ${logicalId}.${attr} (${resource.Type})`,
        );
    }
  }

  private sub(stack: StackTemplate, arg: unknown): string {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
    return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (vars[name] !== undefined) return String(this.resolve(stack, vars[name]));
      if (name.includes('.')) {
        const [logicalId, attr] = name.split('.', 2) as [string, string];
        return String(this.getAtt(stack, logicalId, attr));
      }
      return String(this.ref(stack, name));
    });
  }
}

/** The account a stack runs in locally: the one its environment names, else the local account. */
export function accountOf(stack: StackTemplate | undefined): string {
  return stack?.account ?? LOCAL_ACCOUNT;
}

/** The stack whose artifact id is given, or an error naming what is there. */
export function stackById(stacks: StackTemplate[], artifactId: string): StackTemplate {
  const stack = stacks.find((s) => s.artifactId === artifactId);
  if (!stack) {
    throw new Error(
      `cdk.out has no stack ${artifactId} (has: ${stacks.map((s) => s.artifactId).join(', ')})`,
    );
  }
  return stack;
}
