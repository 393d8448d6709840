// Finance's side of S502/S503: POST /budget-batches/close (close now),
// POST /budget-batches/{batchId}/answers, GET /budget-batches?status=awaiting-answer; and the
// ledger: PUT /budgets/{department}/{period}, GET /budgets, GET /budgets/{department}/{period}/entries,
// PUT /budget-settings/{department}, GET /budget-reports; owned licences: PUT and GET
// /software/{name}/licences.
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { PageQuery, SoftwarePath } from '../../../lib/http/schemas/registry.js';
import {
  AnswersBody,
  BatchesQuery,
  BatchPath,
  BudgetBody,
  BudgetPath,
  BudgetQuery,
  DepartmentPath,
  LicencesBody,
  ReportQuery,
  SettingsBody,
} from '../../../lib/http/schemas/workflow.js';
import { answerBatch, closeNow, listBatches } from '../../../lib/workflow/budget.js';
import {
  budgetReport,
  getBudget,
  listEntries,
  setBudget,
  setDepartmentSettings,
} from '../../../lib/workflow/ledger.js';
import { listLicences, setOwnedLicences } from '../../../lib/workflow/licences.js';
import { budgetPorts, clock, ledgerStore, licenceStore, policy } from '../../workflow/deps.js';
import { routes } from '../registry/route.js';

const ports = budgetPorts();
const ledgerPorts = { ledger: ledgerStore(), clock, policy: policy() };
const licencePorts = { licences: licenceStore(), clock };

export const handler = routes({
  'POST /budget-batches/close': route({}, async (_, { caller }) => json(200, await closeNow(ports, caller))),
  'POST /budget-batches/{batchId}/answers': route(
    { params: BatchPath, body: AnswersBody },
    async ({ params, body }, { caller }) => json(200, await answerBatch(ports, caller, params.batchId, body)),
  ),
  'GET /budget-batches': route({ query: BatchesQuery }, async (_, { caller, query }) =>
    json(200, await listBatches(ports, caller, query)),
  ),
  'PUT /budgets/{department}/{period}': route(
    { params: BudgetPath, body: BudgetBody },
    async ({ params, body }, { caller }) => json(200, await setBudget(ledgerPorts, caller, params, body)),
  ),
  'GET /budgets': route({ query: BudgetQuery }, async (_, { caller, query }) =>
    json(200, await getBudget(ledgerPorts, caller, query)),
  ),
  'GET /budgets/{department}/{period}/entries': route(
    { params: BudgetPath, query: PageQuery },
    async ({ params }, { caller, query }) => json(200, await listEntries(ledgerPorts, caller, params, query)),
  ),
  'GET /budget-reports': route({ query: ReportQuery }, async (_, { caller, query }) => {
    const report = await budgetReport(ledgerPorts, caller, query);
    return report.format === 'csv'
      ? json(200, report.body, { 'content-type': 'text/csv; charset=utf-8' })
      : json(200, report.body);
  }),
  'PUT /software/{name}/licences': route(
    { params: SoftwarePath, body: LicencesBody },
    async ({ params, body }, { caller }) =>
      json(200, await setOwnedLicences(licencePorts, caller, params.name, body)),
  ),
  'GET /software/{name}/licences': route({ params: SoftwarePath }, async ({ params }, { caller }) =>
    json(200, await listLicences(licencePorts, caller, params.name)),
  ),
  'PUT /budget-settings/{department}': route(
    { params: DepartmentPath, body: SettingsBody },
    async ({ params, body }, { caller }) =>
      json(200, await setDepartmentSettings(ledgerPorts, caller, params, body)),
  ),
});
