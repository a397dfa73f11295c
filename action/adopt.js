// contactctl's adopt pull request, run by the action's `drift` command (input adopt-pull-request)
// through actions/github-script, after the "Adopt" step ran `contactctl adopt` and, when it
// edited files, force-pushed them to one branch (CONTACTCTL_ADOPT_BRANCH, contactctl/adopt):
//   - pushed: the one open pull request from that branch is opened, or its body updated: adopt's
//     summary and the diff, cut so that the body fits 65,536 characters;
//   - nothing to adopt: that pull request, if open, is closed with a comment.
// It leaves adopt-issue.json in CONTACTCTL_OUT for drift.js: the pull request's number and the
// contacts adopt refused or left for apply, listed in the drift issue.
// It reads `contactctl adopt --format json` (adopt.json; its shape is src/render/adopt.rs's).
// Inputs come from the environment; `github`, `context` and `core` are github-script's. Tested in
// action/adopt.test.js and in tests/it/ecosystem_ci.rs under node with a fake GitHub client.

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

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * The contacts adopt did not take, as lines for the issue: each refused contact
 * (`contacts[].refusal`: where, as `file:line:column`, and why), then each change left for apply
 * (the top-level `left_for_apply[]`, with its reason).
 */
function leftOut(report) {
  const list = (v) => (Array.isArray(v) ? v : []);
  const who = (c) => `${c.channel || '?'}: \`${c.identity || '?'}\``;
  const out = [];
  for (const c of list(report && report.contacts)) {
    const r = c.refusal;
    if (r) out.push(`${who(c)}: refused (${r.file}:${r.line}:${r.column}): ${r.reason}`);
  }
  for (const l of list(report && report.left_for_apply)) {
    out.push(`${who(l)}: left for \`contactctl apply\`: ${l.reason}`);
  }
  return out;
}

/**
 * adopt's summary line, in the words its text output ends with (src/render/adopt.rs, `summary`):
 * `Adopted 4 contacts: 3 fields, 2 tags in 2 files; 1 could not be adopted; 1 change left for apply.`
 */
function summaryLine(report) {
  const s = (report && report.summary) || {};
  const n = (k) => (Number.isInteger(s[k]) ? s[k] : 0);
  let line = `${report && report.dry_run ? 'Would adopt' : 'Adopted'} ${plural(n('adopted'), 'contact', 'contacts')}: ${plural(n('fields'), 'field', 'fields')}, ${plural(n('tags'), 'tag', 'tags')} in ${plural(n('files'), 'file', 'files')}`;
  if (n('refused') > 0) line += `; ${n('refused')} could not be adopted`;
  if (n('left_for_apply') > 0) line += `; ${plural(n('left_for_apply'), 'change', 'changes')} left for apply`;
  return `${line}.`;
}

/** The platform's contacts the repo does not name, as a line with the way to bring them in. */
function notInRepoLine(report) {
  const n = report && report.summary && Number.isInteger(report.summary.not_in_repo) ? report.summary.not_in_repo : 0;
  if (n === 0) return '';
  return `${plural(n, 'contact is', 'contacts are')} on the platform, not in the repo (not added; bring them in with \`contactctl import PATH --channel NAME --id ID\`).`;
}

/** The diff: adopt's own per file (`files[].diff`), else the step's `git diff`. */
function diffOf(report, fallback) {
  const files = report && Array.isArray(report.files) ? report.files : [];
  const own = files.map((f) => (typeof f.diff === 'string' ? f.diff.trimEnd() : '')).filter((d) => d);
  return own.length > 0 ? own.join('\n') : fallback;
}

function body({ summary, notInRepo = '', diff, left, config, runUrl }) {
  const head = [
    `The platform's values, adopted into \`${config}\` by \`contactctl adopt\` (the nightly drift check, [run](${runUrl})). Merging makes the repo follow the platform; closing it and running \`contactctl apply\` does the opposite.`,
    '',
    summary.trim(),
    '',
  ];
  if (notInRepo) head.push(notInRepo, '');
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
    const text = body({
      summary: report ? summaryLine(report) : 'contactctl adopt edited the config.',
      notInRepo: notInRepoLine(report),
      diff: diffOf(report, readText(path.join(out, 'adopt.diff'))),
      left,
      config,
      runUrl,
    });
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
module.exports.summaryLine = summaryLine;
module.exports.notInRepoLine = notInRepoLine;
module.exports.diffOf = diffOf;
module.exports.MAX_BODY = MAX_BODY;
