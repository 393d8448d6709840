// An example body for each route that takes one, shown in the OpenAPI document. A unit test
// parses each with its route's schema, so an example never drifts from what the API accepts.
const ITEM = {
  software: 'Office',
  version: '2.1',
  revision: 21,
  installedAt: '2025-04-01T09:00:00Z',
  user: 'ando',
};

export const API_EXAMPLES = {
  'PUT /clients/{clientId}': {
    name: 'Ando desktop',
    ipAddress: '10.0.1.11',
    osRegistrationId: 'OS-7F3A',
    department: 'Sales',
    users: ['ando'],
  },
  'PUT /clients/{clientId}/software': { items: [ITEM] },
  'POST /inventories': { reports: [{ clientId: 'pc-ando', items: [ITEM] }] },
  'PUT /software/{name}': {
    vendor: 'Contoso',
    latestVersion: '2.1',
    latestRevision: 21,
    licencePrice: 120,
    licenceModel: 'per-user',
  },
  'POST /approvers/{user}/periods': {
    kind: 'delegation',
    delegate: 'suzuki',
    validFrom: '2025-08-01T00:00:00Z',
    validTo: '2025-08-15T00:00:00Z',
  },
  'PUT /people/{key}': { name: 'Ando Haruka', email: 'ando@example.com', department: 'Sales' },
  'POST /announcements': {
    software: 'Office',
    maxVersion: '2.0',
    subject: 'Office 2.1 is out',
    message: 'Ask for the update from upman.',
    dryRun: true,
  },
  'POST /update-requests': {
    clientId: 'pc-ando',
    software: 'Office',
    targetVersion: '2.1',
    reason: 'Needs the new file format',
  },
  'POST /update-requests/{id}/key': { clientId: 'pc-ando', currentRevision: 20 },
  'POST /grants/{grantId}/confirmation': {
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  'POST /budget-batches/{batchId}/answers': {
    answers: [{ lineId: 'l-0123456789abcdefghijklmn', available: true, note: 'Q2 budget' }],
  },
  'PUT /budgets/{department}/{period}': { amount: 5000 },
  'PUT /budget-settings/{department}': { automaticAnswers: false },
  'PUT /software/{name}/licences': { owned: 25, version: '2.1' },
  'PUT /approval-queue/{requestId}': { approver: 'suzuki' },
  // The shape only: a real root carries the vendor's keys and their signatures.
  'PUT /vendor-root': {
    signed: {
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires: '2030-01-01T00:00:00Z',
      keys: {},
      roles: {},
    },
    signatures: [],
  },
  'POST /approvals/{id}/decision': { decision: 'approve', comment: 'OK', k: 'the-secret-from-the-page' },
} as const;
