// Finance's side of S502/S503: POST /budget-batches/close (close now),
// POST /budget-batches/{batchId}/answers, GET /budget-batches?status=awaiting-answer; and the
// ledger: PUT /budgets/{department}/{period}, GET /budgets, GET /budgets/{department}/{period}/entries,
// PUT /budget-settings/{department}, GET /budget-reports; owned licences: PUT and GET
// /software/{name}/licences.
import { json } from '../../../lib/http/handler.js';
import { route } from '../../../lib/http/input.js';
import { API_INPUTS } from '../../../lib/http/schemas/api.js';
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
  'POST /budget-batches/close': route(API_INPUTS['POST /budget-batches/close'], async (_, { caller }) =>
    json(200, await closeNow(ports, caller)),
  ),
  'POST /budget-batches/{batchId}/answers': route(
    API_INPUTS['POST /budget-batches/{batchId}/answers'],
    async ({ params, body }, { caller }) => json(200, await answerBatch(ports, caller, params.batchId, body)),
  ),
  'GET /budget-batches': route(API_INPUTS['GET /budget-batches'], async (_, { caller, query }) =>
    json(200, await listBatches(ports, caller, query)),
  ),
  'PUT /budgets/{department}/{period}': route(
    API_INPUTS['PUT /budgets/{department}/{period}'],
    async ({ params, body }, { caller }) => json(200, await setBudget(ledgerPorts, caller, params, body)),
  ),
  'GET /budgets': route(API_INPUTS['GET /budgets'], async (_, { caller, query }) =>
    json(200, await getBudget(ledgerPorts, caller, query)),
  ),
  'GET /budgets/{department}/{period}/entries': route(
    API_INPUTS['GET /budgets/{department}/{period}/entries'],
    async ({ params }, { caller, query }) => json(200, await listEntries(ledgerPorts, caller, params, query)),
  ),
  'GET /budget-reports': route(API_INPUTS['GET /budget-reports'], async (_, { caller, query }) => {
    const report = await budgetReport(ledgerPorts, caller, query);
    return report.format === 'csv'
      ? json(200, report.body, { 'content-type': 'text/csv; charset=utf-8' })
      : json(200, report.body);
  }),
  'PUT /software/{name}/licences': route(
    API_INPUTS['PUT /software/{name}/licences'],
    async ({ params, body }, { caller }) =>
      json(200, await setOwnedLicences(licencePorts, caller, params.name, body)),
  ),
  'GET /software/{name}/licences': route(
    API_INPUTS['GET /software/{name}/licences'],
    async ({ params }, { caller }) => json(200, await listLicences(licencePorts, caller, params.name)),
  ),
  'PUT /budget-settings/{department}': route(
    API_INPUTS['PUT /budget-settings/{department}'],
    async ({ params, body }, { caller }) =>
      json(200, await setDepartmentSettings(ledgerPorts, caller, params, body)),
  ),
});
