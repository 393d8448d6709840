// A pass-through in front of DynamoDB Local that reports each call's operation (the
// X-Amz-Target header): the workflow bench counts DynamoDB calls per request with it. Bytes go
// through unchanged, so what DynamoDB Local accepts or refuses is what the callers see.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startDynamoDbObserver(
  target: string,
  observe: (operation: string, body?: string) => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const op =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => observe(op, Buffer.concat(chunks).toString('utf8')));
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
