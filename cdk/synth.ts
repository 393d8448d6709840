// The synth entry (cdk.json's app and npm start's synth). The functions' one esbuild build starts
// first and runs in esbuild's own process while this one loads the CDK libraries; then the app is
// built, written and checked (cdk-nag, CloudFormation Validate). With UPMAN_SYNTH_PROGRESS set,
// each step is a `[synth] …` line on stderr, which npm start shows as it comes.
import { prebundle, synthProgress } from './constructs/function-bundles.js';
import { PROJECT_ROOT } from './project-root.js';

const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const bundling = prebundle(PROJECT_ROOT);
bundling.catch(() => {}); // awaited below, after the libraries load
synthProgress('loading the CDK libraries…');
const [{ App }, { buildApp }] = await Promise.all([import('aws-cdk-lib'), import('./app.js')]);
synthProgress(`CDK libraries loaded (${seconds()})`);
await bundling;
// Synthesized once, here: an App left to synthesize itself does it again at exit (seconds more).
const { app } = buildApp(new App({ autoSynth: false }));
synthProgress(
  `stacks built (${seconds()}); writing templates, checking them with cdk-nag and CloudFormation Validate…`,
);
app.synth();
synthProgress(`templates written and checked (${seconds()})`);
