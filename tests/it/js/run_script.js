// Runs the text of an action step's github-script `script:` (the file argv[2]) as
// actions/github-script does — the body of an async function of github, context, core and
// require — against the fake GitHub whose state is the file argv[3]; the step's environment is
// this process's. core.info lines go to stdout; a thrown error fails the process, as it fails
// the step.
'use strict';

const fs = require('fs');
const { fakeGithub } = require('./fake_github.js');

const [scriptFile, stateFile] = process.argv.slice(2);
const { github } = fakeGithub(stateFile);
const context = {
  serverUrl: 'https://github.com',
  runId: Number(process.env.FAKE_RUN_ID || 4242),
  sha: process.env.FAKE_SHA || '0123456789abcdef0123456789abcdef01234567',
  repo: { owner: 'acme', repo: 'contacts' },
  payload: { repository: { default_branch: 'main' } },
};
const core = {
  info: (m) => console.log(m),
  warning: (m) => console.log(`::warning::${m}`),
  setFailed: (m) => {
    console.log(`::error::${m}`);
    process.exitCode = 1;
  },
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'core', 'require', fs.readFileSync(scriptFile, 'utf8'))(
  github,
  context,
  core,
  require,
).catch((e) => {
  console.error(e);
  process.exit(1);
});
