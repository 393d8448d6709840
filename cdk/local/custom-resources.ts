// CloudFormation's custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`), run as a
// deploy runs them: a start is a deploy of the templates onto the data under .local. A resource the
// data has not seen gets Create, one whose properties changed gets Update, an unchanged one
// nothing (custom-resources.json in the data folder remembers them; an in-memory cloud has no
// memory, so every resource gets Create). The function must answer at the event's ResponseURL —
// here a one-shot loopback server in place of S3's presigned URL — with SUCCESS; FAILED, an
// unanswered invocation or a crash stops the start with the reason, as a failed resource fails a
// deploy. All before the demo seed, so the data is migrated before anything uses it.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { LocalLambdaRuntime } from './lambda/runtime.js';
import { LOCAL_ACCOUNT, type StackTemplate, type TemplateResolver } from './template.js';

interface CustomResourceAnswer {
  Status?: string;
  Reason?: string;
  Data?: Record<string, unknown>;
}

/**
 * CDK's own custom resources that act only when a stack or bucket is deleted, which the local
 * cloud never does: nothing to run at a start.
 */
const ON_DELETE_ONLY = new Set(['Custom::S3AutoDeleteObjects']);

export function templateCustomResources(stacks: StackTemplate[]) {
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources)
      .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
      .filter(([, r]) => !ON_DELETE_ONLY.has(r.Type))
      .map(([logicalId, resource]) => ({ stack, logicalId, resource })),
  );
}

/** Runs what a deploy would run; resolves to one line per resource run, for the log. */
export async function runCustomResources(
  stacks: StackTemplate[],
  resolver: TemplateResolver,
  runtime: LocalLambdaRuntime,
  region: string,
  dataDir?: string,
): Promise<string[]> {
  const memoryFile = dataDir ? join(dataDir, 'custom-resources.json') : undefined;
  const deployed: Record<string, string> =
    memoryFile && existsSync(memoryFile) ? JSON.parse(readFileSync(memoryFile, 'utf8')) : {};
  const lines: string[] = [];
  for (const { stack, logicalId, resource } of templateCustomResources(stacks)) {
    const { ServiceToken, ...properties } = resolver.resolve(stack, resource.Properties ?? {}) as Record<
      string,
      unknown
    >;
    const id = `${stack.artifactId}/${logicalId}`;
    const before = deployed[id];
    const now = JSON.stringify(properties);
    if (before === now) continue;
    const answer = await respondedTo(async (responseUrl) => {
      await runtime.invoke(String(ServiceToken), {
        RequestType: before === undefined ? 'Create' : 'Update',
        ServiceToken,
        ResponseURL: responseUrl,
        StackId: `arn:aws:cloudformation:${region}:${LOCAL_ACCOUNT}:stack/${stack.stackName}/local`,
        RequestId: randomUUID(),
        LogicalResourceId: logicalId,
        ResourceType: resource.Type,
        ResourceProperties: { ServiceToken, ...properties },
        ...(before === undefined
          ? {}
          : {
              PhysicalResourceId: logicalId,
              OldResourceProperties: { ServiceToken, ...JSON.parse(before) },
            }),
      });
    });
    if (answer.Status !== 'SUCCESS') {
      throw new Error(`${id} (${resource.Type}) failed: ${answer.Reason ?? 'no reason given'}`);
    }
    deployed[id] = now;
    if (memoryFile) writeFileSync(memoryFile, `${JSON.stringify(deployed, null, 2)}\n`);
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
