// `npm run demo`: against the local cloud (`npm start` in another terminal), one employee's
// request goes through budget, then approval, to the approved mail. It follows the mail's link
// and posts the page's form as a person would, printing each step with its S-number, then asks
// for a key as the employee's agent does (the S508 mail carries none: scanners fetch every link)
// and fetches it. The default is suzuki on pc-suzuki, which runs OfficeSuite 2.9: the local
// cloud's demo release (cdk/local/seed.ts) makes that a delta key to 2.10.
//   npm run demo -- [--endpoints .local/endpoints.json] [--user suzuki] [--client pc-suzuki] [--software OfficeSuite]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Endpoints } from '../cdk/local/cloud.js';
import { WorkflowDriver } from './workflow-driver.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '.local/endpoints.json' },
    user: { type: 'string', default: 'suzuki' },
    client: { type: 'string', default: 'pc-suzuki' },
    software: { type: 'string', default: 'OfficeSuite' },
  },
});
const file = values.endpoints!;
if (!existsSync(file)) {
  console.error(`No ${file}: start the local cloud first (npm start), then run npm run demo.`);
  process.exit(2);
}
const endpoints = JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
const d = new WorkflowDriver(endpoints, dirname(file));
const user = values.user!;
const step = (id: string, text: string) => console.log(`${id.padEnd(5)} ${text}`);

try {
  const sent = await d.submit(
    user,
    { clientId: values.client, software: values.software, reason: 'The demo: the new version fixes a crash' },
    `demo-${Date.now()}`,
  );
  if (sent.status !== 202)
    throw new Error(`POST /update-requests: ${sent.status} ${JSON.stringify(sent.body)}`);
  const { requestId } = sent.body as { requestId: string };
  step('S501', `${user} asks for ${values.software} on ${values.client}: request ${requestId} (202)`);

  await d.untilStep(user, requestId, 'S502');
  const closed = await d.closeNow();
  const { batchId, line } = await d.lineOf(requestId);
  step(
    'S502',
    `budget line ${line.lineId} (${line.quantity} × ${line.unitPrice} = ${line.total}) closed into batch ${batchId}; ${closed.body.batches.length} batch message(s) on the budget queue`,
  );
  const answered = await d.answer(batchId, [
    { lineId: line.lineId, available: true, note: 'within the budget' },
  ]);
  step('S503', `finance answers "available": ${answered.body.results[0].outcome}`);

  const waiting = await d.untilStatus(user, requestId, 'AWAITING_APPROVAL');
  const s504 = waiting.steps.find((s: { step: string }) => s.step === 'S504');
  step('S504', `approver in force: ${s504.approver}${s504.delegate ? ` (delegate ${s504.delegate})` : ''}`);

  const mails = await d.mailsTo(s504.delegate ?? s504.approver, new RegExp(`^Approve ${values.software}`));
  const mail = mails.find((m) => m.body.text?.includes(requestId)) ?? mails[mails.length - 1]!;
  const link = WorkflowDriver.linkOf(mail);
  step(
    'S505',
    `mail "${mail.subject}" to ${mail.destination.to.join(', ')}; link ${link.replace(/k=.*/, 'k=…')}`,
  );

  const page = await d.open(link);
  const done = await d.decide(link, page.html, 'approve', 'Go ahead');
  step('S506', `the approver opens the page (${page.status}), signs in and approves (${done.status})`);

  const final = await d.untilStatus(user, requestId, ['APPROVED', 'FAILED']);
  const queue = endpoints.outputs.UpdateManagementStack?.PurchaseOrderQueueUrl;
  if (queue) {
    const order = await d.receive(queue, (b) => b.requestId === requestId);
    step(
      'S507',
      `purchase order on the queue: ${order.software} ${order.version} × ${order.quantity} = ${order.total}`,
    );
  }
  const [approvedMail] = await d.until(
    `the S508 mail of ${requestId}`,
    async () =>
      (await d.mailsTo(user, new RegExp(`^Approved: ${values.software}`))).filter((m) =>
        m.body.text?.includes(requestId),
      ),
    (mails) => mails.length > 0,
  );
  const text = approvedMail!.body.text ?? '';
  step('S508', `mail "${approvedMail!.subject}" to ${approvedMail!.destination.to.join(', ')}`);
  const command = /upman download \S+/.exec(text);
  if (command) console.log(`      it says: run ${command[0]} on ${values.client}`);
  // What `upman download` does first: ask for a key, as the signed-in employee, from the
  // revision the client runs (the registry's, here).
  const inventory = await d.api('GET', `/clients/${values.client}/software`, { user });
  const installed = (inventory.body.items ?? []).find(
    (i: { software: string }) => i.software === values.software,
  );
  const asked = await d.api('POST', `/update-requests/${requestId}/key`, {
    user,
    body: { clientId: values.client, currentRevision: installed?.revision ?? null },
  });
  if (asked.status === 200) {
    const key = asked.body as { url: string; kind: string; size: number; sha256: string; expiresAt: string };
    console.log(`      key   ${key.url.slice(0, 100)}…`);
    console.log(`      valid until ${key.expiresAt}`);
    // The key is a presigned GET: fetch it as the agent would, and check the bytes.
    const res = await fetch(key.url);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const verdict = sha256 === key.sha256 ? 'SHA-256 as the key says' : 'SHA-256 DIFFERS from the key';
    step(
      'S602',
      res.ok
        ? `the key downloads ${bytes.length} bytes (${key.kind} package, ${verdict}); ${new URL(key.url).pathname}`
        : `the key was refused: ${res.status} ${bytes.toString('utf8').slice(0, 200)}`,
    );
    if (!res.ok || sha256 !== key.sha256) process.exitCode = 1;
    console.log(
      `      nothing is recorded until the agent installs and confirms (${command?.[0] ?? 'upman download'})`,
    );
  } else {
    console.log(`      no key yet (${asked.status}): ${asked.body?.message ?? ''}`);
  }
  console.log(
    `\nstatus ${final.status}; steps ${final.steps.map((s: { step: string }) => s.step).join(' → ')}`,
  );
  console.log(`Mailbox: ${endpoints.mail}`);
} finally {
  d.destroy();
}
