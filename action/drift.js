// contactctl's drift issue, run by the action's `drift` command through actions/github-script:
// one open issue labelled CONTACTCTL_DRIFT_LABEL (contactctl-drift) holds the latest drift.
//   - drift, no issue: the label is created if missing, and the issue opened with the plan
//     (summary first, cut so that the whole body fits 65,536 characters), the two ways out
//     (contactctl apply / contactctl adopt, the exact commands for this config) and the contacts
//     that could not be checked;
//   - drift, an issue: its body replaced, and a comment says what changed since the last check
//     (counts, kept in a hidden line of the body);
//   - no drift and no failed contact: a comment, and the issue closed;
//   - no plan (an invalid config), or no contact checked at all (a refused token, an unreachable
//     host: every contact failed alike): nothing is touched; the job fails anyway.
// Inputs come from the environment (CONTACTCTL_OUT holds drift.json and drift.md, as the
// "Check for drift" step wrote them); `github`, `context` and `core` are github-script's.
// Returns what it did, for the tests (tests/it/ecosystem_ci.rs runs it under node with a fake
// GitHub client).

'use strict';

const fs = require('fs');
const path = require('path');

const MAX_BODY = 65536;
const MARKER = '<!-- contactctl-drift -->';
const COUNTS = /<!-- contactctl-drift-counts (\{[^\n]*\}) -->/;
const KEYS = ['create', 'update', 'tags_added', 'tags_removed', 'errors'];
const WORDS = {
  create: 'to create',
  update: 'to update',
  tags_added: 'tags to add',
  tags_removed: 'tags to remove',
  errors: 'could not be checked',
};

/** A word as a POSIX shell reads it: quoted when it holds anything but safe characters. */
function shellWord(s) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return null;
  }
}

function countsOf(plan) {
  const out = {};
  for (const k of KEYS) out[k] = Number((plan.summary || {})[k] || 0);
  return out;
}

function sayCounts(c) {
  return KEYS.map((k) => `${c[k]} ${WORDS[k]}`).join(', ');
}

/** What changed between two checks' counts, in words. */
function sayChange(before, now) {
  if (!before) return `Drift at this check: ${sayCounts(now)}.`;
  const moved = KEYS.filter((k) => before[k] !== now[k]).map(
    (k) => `${now[k]} ${WORDS[k]} (was ${before[k]})`,
  );
  return moved.length === 0
    ? `Unchanged since the last check: ${sayCounts(now)}.`
    : `Since the last check: ${moved.join(', ')}.`;
}

/** `text` cut at a line end so that it is at most `room` characters, saying so. */
function cut(text, room, artifact) {
  if (text.length <= room) return text;
  const note = `\n\n_The plan is cut here to fit an issue: the whole plan is the artifact ${artifact}._`;
  const keep = Math.max(0, room - note.length);
  let end = text.lastIndexOf('\n', keep);
  if (end < 0) end = keep;
  return text.slice(0, end) + note;
}

/** The issue's body: summary first, the ways out, the contacts that failed, the plan, the run. */
function body({ plan, markdown, counts, config, runUrl, artifact, sha, adopt }) {
  const failed = (plan.contacts || []).filter((c) => c.action === 'error');
  const head = [
    MARKER,
    counts.create + counts.update + counts.tags_added + counts.tags_removed > 0
      ? `**The platform no longer matches \`${config}\`:** ${sayCounts(counts)}.`
      : `**Some contacts of \`${config}\` could not be checked:** ${sayCounts(counts)}.`,
    '',
    'Two ways out:',
    `- the platform follows the repo: \`contactctl apply ${shellWord(config)}\` (or merge a change that applies), or`,
    `- the repo follows the platform: \`contactctl adopt ${shellWord(config)}\`, then commit its edits in a pull request.`,
    '',
  ];
  if (adopt && adopt.pull) {
    head.push(`The adopt pull request is #${adopt.pull}.`, '');
  }
  const lists = [];
  if (failed.length > 0) {
    lists.push(`**${failed.length} contact(s) could not be checked** (the job fails):`);
    for (const c of failed) lists.push(`- ${c.channel}: \`${c.identity}\`: ${c.error || 'failed'}`);
    lists.push('');
  }
  if (adopt && adopt.left && adopt.left.length > 0) {
    lists.push(`**${adopt.left.length} contact(s) adopt did not take** (left for \`contactctl apply\`):`);
    for (const c of adopt.left) lists.push(`- ${c}`);
    lists.push('');
  }
  const foot = [
    '',
    `<sub>Checked at ${sha.slice(0, 7)}. [Job log and full plan (artifact ${artifact})](${runUrl})</sub>`,
    `<!-- contactctl-drift-counts ${JSON.stringify(counts)} -->`,
    '',
  ].join('\n');
  let top = head.join('\n') + '\n';
  // The failure lists are cut too, if they alone would not fit (thousands of failed contacts).
  let listed = lists.join('\n');
  const fixed = top.length + foot.length + 2;
  if (fixed + listed.length > MAX_BODY / 2) listed = cut(listed, MAX_BODY / 2 - fixed, artifact);
  const room = MAX_BODY - fixed - listed.length;
  return `${top}${listed}\n${cut(markdown.trim(), room, artifact)}\n${foot}`;
}

async function ensureLabel(github, owner, repo, name) {
  try {
    await github.rest.issues.getLabel({ owner, repo, name });
  } catch (e) {
    if (e.status !== 404) throw e;
    await github.rest.issues.createLabel({
      owner,
      repo,
      name,
      color: 'd93f0b',
      description: 'The platform no longer matches the contacts in the repository (contactctl)',
    });
  }
}

module.exports = async function drift({ github, context, core, env = process.env }) {
  const out = env.CONTACTCTL_OUT;
  const label = env.CONTACTCTL_DRIFT_LABEL || 'contactctl-drift';
  const config = env.CONTACTCTL_CONFIG || 'contacts/';
  const artifact = env.CONTACTCTL_ARTIFACT || 'contactctl-drift';
  const plan = readJson(path.join(out, 'drift.json'));
  // No plan: the config did not load; or no contact could be checked at all (a refused token,
  // an unreachable host: every contact fails alike), which says nothing about drift.
  const checked = plan && Array.isArray(plan.contacts) && plan.summary
    ? plan.contacts.filter((c) => c.action !== 'error').length
    : -1;
  if (checked < 0 || (checked === 0 && plan.contacts.length > 0)) {
    core.info('The check produced no plan (its log says why): the drift issue is left as it was.');
    return { action: 'none' };
  }
  let markdown = '';
  try {
    markdown = fs.readFileSync(path.join(out, 'drift.md'), 'utf8');
  } catch (e) {
    markdown = '';
  }
  const adopt = readJson(path.join(out, 'adopt-issue.json'));
  const { owner, repo } = context.repo;
  const runUrl = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
  const counts = countsOf(plan);
  const drifted = counts.create + counts.update + counts.tags_added + counts.tags_removed > 0;
  const open = (
    await github.paginate(github.rest.issues.listForRepo, {
      owner,
      repo,
      state: 'open',
      labels: label,
      per_page: 100,
    })
  ).filter((i) => !i.pull_request);
  open.sort((a, b) => a.number - b.number);
  const issue = open[0];

  if (!drifted && counts.errors === 0) {
    if (!issue) return { action: 'none' };
    await github.rest.issues.createComment({
      owner,
      repo,
      issue_number: issue.number,
      body: `No drift at ${context.sha.slice(0, 7)}: the platform matches \`${config}\` again. [Run](${runUrl})`,
    });
    await github.rest.issues.update({
      owner,
      repo,
      issue_number: issue.number,
      state: 'closed',
      state_reason: 'completed',
    });
    return { action: 'closed', number: issue.number };
  }

  const text = body({ plan, markdown, counts, config, runUrl, artifact, sha: context.sha, adopt });
  if (!issue) {
    await ensureLabel(github, owner, repo, label);
    const created = await github.rest.issues.create({
      owner,
      repo,
      title: `Contacts drifted: the platform no longer matches ${config}`,
      body: text,
      labels: [label],
    });
    return { action: 'opened', number: created.data.number };
  }
  const previous = COUNTS.exec(issue.body || '');
  let before = null;
  try {
    before = previous ? JSON.parse(previous[1]) : null;
  } catch (e) {
    before = null;
  }
  await github.rest.issues.update({ owner, repo, issue_number: issue.number, body: text });
  await github.rest.issues.createComment({
    owner,
    repo,
    issue_number: issue.number,
    body: `${sayChange(before, counts)} [Run](${runUrl})`,
  });
  return { action: 'updated', number: issue.number };
};

module.exports.MAX_BODY = MAX_BODY;
module.exports.body = body;
module.exports.sayChange = sayChange;
