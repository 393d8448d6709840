// Mail that arrives or says why not: workflow mails go to the directory's addresses, and a mail
// that cannot go — SES refuses it (the local SES is in the sandbox, like a new account), or the
// person has no address — is recorded on the request's steps, where admins see it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowDriver } from '../../scripts/workflow-driver.js';

const e = inject('endpoints');
const d = new WorkflowDriver(e, inject('dataDir'));
const run = randomUUID().slice(0, 6);
const software = `mail-${run}`;
const clientId = `pc-mail-${run}`;
const emp = `memp-${run}`;
const boss = `mboss-${run}`;
const lonely = `mlone-${run}`;
const admin = { user: `mail-admin-${run}`, groups: ['admins'] };
const auditor = { user: `mail-auditor-${run}`, groups: ['auditors'] };

beforeAll(async () => {
  await d.setUp({
    software,
    clientId,
    department: 'Sales',
    users: [emp, lonely],
    approvers: [[emp, boss]],
    price: 10,
  });
}, 120_000);

afterAll(() => d.destroy());

// A refused mail shows as the step it belongs to, phase mail-refused, naming whom it was for.
type Step = { step: string; phase?: string; code?: string; reason?: string; to?: string };
const refusalFor = (to: string) => (s: Step) => s.phase === 'mail-refused' && s.to === to;

describe('workflow mail', () => {
  it('sends the approval mail to the directory’s address, naming the requester by display name', async () => {
    const named = await d.api('PUT', `/people/${emp}`, { ...admin, body: { name: `Mail Tester ${run}` } });
    expect(named.status).toBe(200);
    const sent = await d.submit(emp, { clientId, software, reason: 'mail' }, `mail-${run}-1`);
    const requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    const [mail] = await d.mailsTo(boss, new RegExp(software));
    expect(mail!.destination.to).toEqual([`${boss}@upman.example`]);
    expect(mail!.subject).toContain(`Mail Tester ${run}`);
  });

  it('records a sandbox refusal on the request, visible to admins and auditors', async () => {
    // The approver's address is at a domain SES has not verified: the sandbox refuses it.
    const moved = await d.api('PUT', `/people/${boss}`, {
      ...admin,
      body: { email: `${boss}@corp.example` },
    });
    expect(moved.status).toBe(200);
    // Another software: the first request is still in flight for this client.
    const other = `${software}-b`;
    const catalog = await d.api('PUT', `/software/${other}`, {
      ...admin,
      body: {
        vendor: 'Contoso',
        latestVersion: '3.1',
        latestRevision: 310,
        licencePrice: 10,
        licenceModel: 'per-user',
      },
    });
    expect(catalog.status).toBe(201);
    const sent = await d.submit(emp, { clientId, software: other, reason: 'sandbox' }, `mail-${run}-2`);
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const requestId = sent.body.requestId as string;
    await d.untilStep(emp, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    const seen = await d.until(
      'the refusal on the request',
      () => d.request(admin.user, requestId, admin.groups),
      (r) => r.steps.some(refusalFor(boss)),
    );
    expect(seen.steps.find(refusalFor(boss))).toMatchObject({
      step: 'S505',
      to: boss,
      code: 'MessageRejected',
      reason: expect.stringContaining(`${boss}@corp.example`),
    });
    const audited = await d.request(auditor.user, requestId, auditor.groups);
    expect(audited.steps.some(refusalFor(boss))).toBe(true);
    expect((await d.mailbox()).some((m) => m.destination.to.includes(`${boss}@corp.example`))).toBe(false);
  });

  it('reports a requester without an address the same way, never dropping the mail silently', async () => {
    // lonely has no approver: the request fails at S504 and its mail has no address to go to.
    const bare = await d.api('PUT', `/people/${lonely}x`, { ...admin, body: { login: `${lonely}x` } });
    expect(bare.status).toBe(201);
    const client = await d.api('PUT', `/clients/${clientId}-x`, {
      ...admin,
      body: {
        name: 'x',
        ipAddress: '10.9.0.2',
        osRegistrationId: `OS-x-${run}`,
        department: 'Sales',
        users: [`${lonely}x`],
      },
    });
    expect(client.status).toBe(201);
    // Their IdP sends no e-mail claim either.
    const noMail = new WorkflowDriver(e, inject('dataDir'), { emailOf: () => '' });
    const sent = await noMail.submit(
      `${lonely}x`,
      { clientId: `${clientId}-x`, software, reason: 'x' },
      `mail-${run}-3`,
    );
    expect(sent.status).toBe(202);
    const requestId = sent.body.requestId as string;
    await noMail.untilStep(`${lonely}x`, requestId, 'S502');
    await d.closeNow();
    const { batchId, line } = await d.lineOf(requestId);
    await d.answer(batchId, [{ lineId: line.lineId, available: true }]);
    const failed = await noMail.untilStatus(`${lonely}x`, requestId, 'FAILED');
    noMail.destroy();
    expect(failed.steps.find(refusalFor(`${lonely}x`))).toMatchObject({
      code: 'NoAddress',
      reason: `the directory has no e-mail address for ${lonely}x`,
    });
  });
});
