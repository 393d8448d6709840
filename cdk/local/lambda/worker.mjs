// One Lambda function's execution environment: a worker thread that loads the bundled handler
// once (the cold start) and then serves invocations as the Node.js Lambda runtime does.
// Plain JavaScript on purpose: the thread runs without the TypeScript loader of the parent
// (tsx or vitest), exactly like the bundle runs in Lambda.
import { existsSync, readFileSync } from 'node:fs';
import { Module } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

process.setSourceMapsEnabled(true);

const {
  handlerFile,
  exportName,
  taskRoot,
  functionName,
  functionArn,
  memorySize,
  logGroupName,
  logStreamName,
} = workerData;

let handlerPromise;

/** ESM or CommonJS by the rules the Lambda runtime applies to .mjs / .cjs / .js files. */
async function loadModule(file) {
  if (!existsSync(file)) {
    throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${file}'`);
  }
  const ext = extname(file);
  if (ext === '.mjs' || (ext === '.js' && isModuleScope(file))) return import(pathToFileURL(file).href);
  // A .js file outside a "type": "module" scope is CommonJS in Lambda. Here the project's own
  // package.json ("type": "module") sits above cdk.out, so require() would refuse it: compile it
  // as CommonJS directly instead.
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  mod._compile(readFileSync(file, 'utf8'), file);
  return mod.exports;
}

/** The nearest package.json between the file and the task root (as in /var/task) decides. */
function isModuleScope(file) {
  let dir = dirname(file);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type === 'module';
    if (dir === taskRoot || dirname(dir) === dir) return false;
    dir = dirname(dir);
  }
}

async function loadHandler() {
  let mod;
  try {
    mod = await loadModule(handlerFile);
  } catch (error) {
    if (error?.fatalType) throw error;
    throw runtimeError('Runtime.ImportModuleError', `${error?.name ?? 'Error'}: ${error?.message ?? error}`);
  }
  let handler = mod;
  for (const part of exportName.split('.')) handler = handler?.[part];
  if (typeof handler !== 'function') {
    throw runtimeError(
      'Runtime.HandlerNotFound',
      `${handlerFile}.${exportName} is undefined or not exported`,
    );
  }
  return handler;
}

function runtimeError(name, message) {
  const error = new Error(message);
  error.name = name;
  error.fatalType = name;
  return error;
}

function errorPayload(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: typeof error === 'string' ? error : JSON.stringify(error) };
}

function callHandler(handler, event, context) {
  // Callback-style handlers (three parameters) are still supported on nodejs22.x.
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const returned = handler(event, context, (error, value) => (error ? reject(error) : resolve(value)));
      if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
    });
  }
  return handler(event, context);
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id } = message;
  handlerPromise ??= loadHandler();
  let handler;
  try {
    handler = await handlerPromise;
  } catch (error) {
    // Init failed: this environment is unusable; the parent starts a fresh one next time.
    parentPort.postMessage({ type: 'error', id, fatal: true, ...errorPayload(error) });
    return;
  }
  const deadline = Date.now() + message.timeoutMs;
  parentPort.postMessage({ type: 'start', id });
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: id,
    logGroupName,
    logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await callHandler(handler, JSON.parse(message.event), context);
    // Lambda returns the JSON serialisation of the result; undefined becomes null.
    parentPort.postMessage({ type: 'result', id, payload: JSON.stringify(result ?? null) });
  } catch (error) {
    parentPort.postMessage({ type: 'error', id, ...errorPayload(error) });
  }
});

// As in Lambda, an unhandled rejection or uncaught exception ends the environment; the parent
// fails the invocations still running in it.
process.on('unhandledRejection', (reason) => {
  const detail = errorPayload(reason);
  parentPort.postMessage({
    type: 'crash',
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: `${detail.errorType}: ${detail.errorMessage}`,
  });
  process.exit(1);
});
process.on('uncaughtException', (error) => {
  parentPort.postMessage({ type: 'crash', ...errorPayload(error) });
  process.exit(1);
});
