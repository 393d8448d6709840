// `npm run test:stress`: the whole suite (`npm test`) while one busy loop per core competes for
// the CPU, as on a machine shared with other work. A test that leans on a wall-clock budget
// fails here; one that waits on events and has a generous timeout passes.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const cores = availableParallelism();
const hogs = Array.from({ length: cores }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopHogs = () => {
  for (const hog of hogs) hog.kill('SIGKILL');
};
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopHogs();
    process.exit(130);
  });
}

console.log(`test:stress: ${cores} CPU hog(s) running; now npm test`);
const started = Date.now();
const test = spawn('npm', ['test'], { stdio: 'inherit' });
test.on('close', (code, signal) => {
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(
    `test:stress: npm test ${code === 0 ? 'passed' : 'failed'} in ${minutes} min under ${cores} hog(s)`,
  );
  stopHogs();
  process.exit(code ?? (signal ? 1 : 0));
});
