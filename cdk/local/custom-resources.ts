// CloudFormation's custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`), run as a
// deploy runs them: a start is a deploy of the templates onto the data under .local, so each one's
// function gets a Create event at every start (before the demo seed) and must answer at the
// event's ResponseURL — here a one-shot loopback server in place of S3's presigned URL — with
// SUCCESS. FAILED, an unanswered invocation or a crash stops the start with the reason, as a
// failed resource stops a deploy. Their functions must therefore be idempotent, as on AWS.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { LocalLambdaRuntime } from './lambda/runtime.js';
import { LOCAL_ACCOUNT, type StackTemplate, type TemplateResolver } from './template.js';

interface CustomResourceAnswer {
  Status?: string;
  Reason?: string;
  Data?: Record<string, unknown>;
}

export function templateCustomResources(stacks: StackTemplate[]) {
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources)
      .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
      .map(([logicalId, resource]) => ({ stack, logicalId, resource })),
  );
}

/** Runs every custom resource's Create; resolves to one line per resource for the log. */
export async function runCustomResources(
  stacks: StackTemplate[],
  resolver: TemplateResolver,
  runtime: LocalLambdaRuntime,
  region: string,
): Promise<string[]> {
  const lines: string[] = [];
  for (const { stack, logicalId, resource } of templateCustomResources(stacks)) {
    const { ServiceToken, ...properties } = resolver.resolve(stack, resource.Properties ?? {}) as Record<
      string,
      unknown
    >;
    const answer = await respondedTo(async (responseUrl) => {
      await runtime.invoke(String(ServiceToken), {
        RequestType: 'Create',
        ServiceToken,
        ResponseURL: responseUrl,
        StackId: `arn:aws:cloudformation:${region}:${LOCAL_ACCOUNT}:stack/${stack.stackName}/local`,
        RequestId: randomUUID(),
        LogicalResourceId: logicalId,
        ResourceType: resource.Type,
        ResourceProperties: { ServiceToken, ...properties },
      });
    });
    if (answer.Status !== 'SUCCESS') {
      throw new Error(
        `${stack.artifactId}/${logicalId} (${resource.Type}) failed: ${answer.Reason ?? 'no reason given'}`,
      );
    }
    lines.push(`${logicalId} (${resource.Type}): ${JSON.stringify(answer.Data ?? {})}`);
  }
  return lines;
}

/** Serves one ResponseURL while `invoke` runs; the function must have answered when it returns. */
async function respondedTo(invoke: (responseUrl: string) => Promise<void>): Promise<CustomResourceAnswer> {
  let answer: CustomResourceAnswer | undefined;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      try {
        answer = req.method === 'PUT' ? (JSON.parse(body) as CustomResourceAnswer) : undefined;
      } catch {
        answer = { Status: 'FAILED', Reason: 'the answer was not JSON' };
      }
      res.writeHead(answer ? 200 : 400).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    await invoke(`http://127.0.0.1:${port}/cloudformation-response/${randomUUID()}`);
  } finally {
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
  }
  return answer ?? { Status: 'FAILED', Reason: 'the function returned without answering at its ResponseURL' };
}
