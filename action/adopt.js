// contactctl's adopt pull request, run by the action's `drift` command (input adopt-pull-request)
// through actions/github-script, after the "Adopt" step ran `contactctl adopt` and, when it
// edited files, force-pushed them to one branch (CONTACTCTL_ADOPT_BRANCH, contactctl/adopt):
//   - pushed: the one open pull request from that branch is opened, or its body updated: adopt's
//     summary and the diff, cut so that the body fits 65,536 characters;
//   - nothing to adopt: that pull request, if open, is closed with a comment.
// It leaves adopt-issue.json in CONTACTCTL_OUT for drift.js: the pull request's number and the
// contacts adopt refused or left for apply, listed in the drift issue.
// Inputs come from the environment; `github`, `context` and `core` are github-script's. Tested in
// tests/it/ecosystem_ci.rs under node with a fake GitHub client.

'use strict';

const fs = require('fs');
const path = require('path');

const MAX_BODY = 65536;

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    return '';
  }
}

/**
 * The contacts adopt did not take, as lines for the issue: refused (with the reason and where) or
 * left for apply. adopt's JSON lists each contact; a contact is refused when it carries a
 * `refused` reason, left for apply when `left_for_apply` is set.
 */
function leftOut(report) {
  const contacts = report && Array.isArray(report.contacts) ? report.contacts : [];
  const out = [];
  for (const c of contacts) {
    const who = `${c.channel || '?'}: \`${c.identity || c.id || '?'}\``;
    if (c.refused) {
      const where = c.location ? ` (${c.location})` : '';
      out.push(`${who}: refused${where}: ${c.refused}`);
    } else if (c.left_for_apply) {
      const why = typeof c.left_for_apply === 'string' ? `: ${c.left_for_apply}` : '';
      out.push(`${who}: left for \`contactctl apply\`${why}`);
    }
  }
  return out;
}

function body({ summary, diff, left, config, runUrl }) {
  const head = [
    `The platform's values, adopted into \`${config}\` by \`contactctl adopt\` (the nightly drift check, [run](${runUrl})). Merging makes the repo follow the platform; closing it and running \`contactctl apply\` does the opposite.`,
    '',
    summary.trim(),
    '',
  ];
  if (left.length > 0) {
    head.push(`${left.length} contact(s) not adopted (listed in the drift issue).`, '');
  }
  const top = head.join('\n');
  const open = '```diff\n';
  const close = '\n```\n';
  const note = '\n… the diff is cut here to fit; the branch holds every edit.';
  let d = diff.trim();
  const room = MAX_BODY - top.length - open.length - close.length;
  if (d.length > room) {
    let end = d.lastIndexOf('\n', room - note.length);
    if (end < 0) end = Math.max(0, room - note.length);
    d = d.slice(0, end) + note;
  }
  return `${top}${open}${d}${close}`;
}

module.exports = async function adopt({ github, context, core, env = process.env }) {
  const out = env.CONTACTCTL_OUT;
  const branch = env.CONTACTCTL_ADOPT_BRANCH || 'contactctl/adopt';
  const config = env.CONTACTCTL_CONFIG || 'contacts/';
  const state = env.CONTACTCTL_ADOPT_STATE;
  const { owner, repo } = context.repo;
  const runUrl = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
  let report = null;
  try {
    report = JSON.parse(readText(path.join(out, 'adopt.json')));
  } catch (e) {
    report = null;
  }
  const left = leftOut(report);
  const pulls = await github.paginate(github.rest.pulls.list, {
    owner,
    repo,
    state: 'open',
    head: `${owner}:${branch}`,
    per_page: 100,
  });
  const pull = pulls[0];
  let result;
  if (state === 'pushed') {
    const summary =
      (report && typeof report.summary === 'string' && report.summary) ||
      readText(path.join(out, 'adopt-summary.txt')) ||
      'contactctl adopt edited the config.';
    const text = body({ summary, diff: readText(path.join(out, 'adopt.diff')), left, config, runUrl });
    if (pull) {
      await github.rest.pulls.update({ owner, repo, pull_number: pull.number, body: text });
      result = { action: 'updated', number: pull.number };
    } else {
      const created = await github.rest.pulls.create({
        owner,
        repo,
        head: branch,
        base: (context.payload.repository || {}).default_branch || 'main',
        title: `contactctl adopt: ${config} follows the platform`,
        body: text,
      });
      result = { action: 'opened', number: created.data.number };
    }
  } else {
    if (pull) {
      await github.rest.issues.createComment({
        owner,
        repo,
        issue_number: pull.number,
        body: `Nothing left to adopt at ${context.sha.slice(0, 7)}: closing. [Run](${runUrl})`,
      });
      await github.rest.pulls.update({ owner, repo, pull_number: pull.number, state: 'closed' });
      result = { action: 'closed', number: pull.number };
    } else {
      result = { action: 'none' };
    }
  }
  fs.writeFileSync(
    path.join(out, 'adopt-issue.json'),
    JSON.stringify({ pull: result.action === 'closed' ? null : result.number || null, left }),
  );
  core.info(`adopt pull request: ${JSON.stringify(result)}`);
  return result;
};

module.exports.body = body;
module.exports.leftOut = leftOut;
module.exports.MAX_BODY = MAX_BODY;
