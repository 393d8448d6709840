// Finance's side of S502/S503: POST /budget-batches/close (close now),
// POST /budget-batches/{batchId}/answers, GET /budget-batches?status=awaiting-answer; and the
// ledger: PUT /budgets/{department}/{period}, GET /budgets, GET /budgets/{department}/{period}/entries,
// PUT /budget-settings/{department}, GET /budget-reports; owned licences: PUT and GET
// /software/{name}/licences.
import { NotFound } from '../../../lib/errors.js';
import { httpHandler, json } from '../../../lib/http/handler.js';
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

const ports = budgetPorts();
const ledgerPorts = { ledger: ledgerStore(), clock, policy: policy() };
const licencePorts = { licences: licenceStore(), clock };

export const handler = httpHandler(async ({ caller, event, pathParameters, query, body }) => {
  switch (event.routeKey) {
    case 'POST /budget-batches/close':
      return json(200, await closeNow(ports, caller));
    case 'POST /budget-batches/{batchId}/answers':
      return json(200, await answerBatch(ports, caller, pathParameters.batchId!, body));
    case 'GET /budget-batches':
      return json(200, await listBatches(ports, caller, query));
    case 'PUT /budgets/{department}/{period}':
      return json(200, await setBudget(ledgerPorts, caller, pathParameters, body));
    case 'GET /budgets':
      return json(200, await getBudget(ledgerPorts, caller, query));
    case 'GET /budgets/{department}/{period}/entries':
      return json(200, await listEntries(ledgerPorts, caller, pathParameters, query));
    case 'GET /budget-reports': {
      const report = await budgetReport(ledgerPorts, caller, query);
      return report.format === 'csv'
        ? json(200, report.body, { 'content-type': 'text/csv; charset=utf-8' })
        : json(200, report.body);
    }
    case 'PUT /software/{name}/licences':
      return json(200, await setOwnedLicences(licencePorts, caller, pathParameters.name!, body));
    case 'GET /software/{name}/licences':
      return json(200, await listLicences(licencePorts, caller, pathParameters.name!));
    case 'PUT /budget-settings/{department}':
      return json(200, await setDepartmentSettings(ledgerPorts, caller, pathParameters, body));
    default:
      throw new NotFound(`No route ${event.routeKey}`);
  }
});
