// `npm run demo`: against the local cloud (`npm start` in another terminal), one employee's
// request goes through budget, then approval, to the key mail. It follows the mail's link and
// posts the page's form as a person would, printing each step with its S-number.
//   npm run demo -- [--endpoints .local/endpoints.json] [--user ando] [--client pc-ando] [--software OfficeSuite]
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Endpoints } from '../cdk/local/cloud.js';
import { WorkflowDriver } from './workflow-driver.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '.local/endpoints.json' },
    user: { type: 'string', default: 'ando' },
    client: { type: 'string', default: 'pc-ando' },
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
  step('S506', `the approver opens the page (${page.status}) and approves (${done.status})`);

  const final = await d.untilStatus(user, requestId, ['APPROVED', 'FAILED']);
  const queue = endpoints.outputs.UpdateManagementStack?.PurchaseOrderQueueUrl;
  if (queue) {
    const order = await d.receive(queue, (b) => b.requestId === requestId);
    step(
      'S507',
      `purchase order on the queue: ${order.software} ${order.version} × ${order.quantity} = ${order.total}`,
    );
  }
  const [keyMail] = await d.mailsTo(user, new RegExp(`^Approved: ${values.software}`));
  const key = /download key[^\n]*\n(\S+)/.exec(keyMail!.body.text ?? '');
  step(
    'S508',
    `mail "${keyMail!.subject}" to ${user}${key ? `, key ${key[1]!.slice(0, 60)}…` : ' (grant recorded)'}`,
  );
  console.log(
    `\nstatus ${final.status}; steps ${final.steps.map((s: { step: string }) => s.step).join(' → ')}`,
  );
  console.log(`Mailbox: ${endpoints.mail}`);
} finally {
  d.destroy();
}
