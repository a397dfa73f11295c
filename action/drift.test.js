// Unit tests of drift.js under node's own test runner (node --test action/), no npm package:
// the body fits GitHub's 65,536 characters whatever the plan's size, summary first,
// with the ways out and the link to the run kept; the comment says what changed. The issue's
// life against a fake GitHub and the sandbox is tested in tests/it/ecosystem_ci.rs, which also
// runs this file.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const drift = require('./drift.js');

const plan = (n, failed) => ({
  summary: { create: 0, update: n, tags_added: 0, tags_removed: 0, errors: failed },
  contacts: Array.from({ length: failed }, (_, i) => ({
    channel: 'web',
    identity: `email=f${i}@example.com`,
    action: 'error',
    error: 'the look-up failed: 500 Internal Server Error '.repeat(3),
  })),
});

const args = (p, markdown) => ({
  plan: p,
  markdown,
  counts: { create: 0, update: p.summary.update, tags_added: 0, tags_removed: 0, errors: p.summary.errors },
  config: 'my contacts/',
  runUrl: 'https://github.com/acme/contacts/actions/runs/4242',
  artifact: 'contactctl-drift',
  sha: '0123456789abcdef',
});

test('a small plan is whole, after the summary and the ways out', () => {
  const md = '**contactctl plan:** 0 to create, 1 to update\n\n| web | update |';
  const body = drift.body(args(plan(1, 0), md));
  assert.ok(body.startsWith('<!-- contactctl-drift -->\n**The platform no longer matches `my contacts/`:** 0 to create, 1 to update'), body);
  assert.ok(body.includes("`contactctl apply 'my contacts/'`"), 'the exact command, quoted');
  assert.ok(body.includes("`contactctl adopt 'my contacts/'`"));
  assert.ok(body.includes(md));
  assert.ok(body.includes('(https://github.com/acme/contacts/actions/runs/4242)'));
});

test('a huge plan and thousands of failed contacts are cut to fit, the link kept', () => {
  const md = '**contactctl plan:** 0 to create, 50000 to update\n' + '| web | `email=someone@example.com` | update | firstName |\n'.repeat(50000);
  const body = drift.body(args(plan(50000, 5000), md));
  assert.ok(body.length <= drift.MAX_BODY, `${body.length}`);
  assert.ok(body.includes('**contactctl plan:** 0 to create, 50000 to update'), 'the plan summary kept');
  assert.ok(body.includes('the whole plan is the artifact contactctl-drift'));
  assert.ok(body.includes('**5000 contact(s) could not be checked**'));
  assert.ok(body.includes('(https://github.com/acme/contacts/actions/runs/4242)'), 'the link kept');
  assert.ok(body.includes('<!-- contactctl-drift-counts {"create":0,"update":50000'));
});

test('the comment says what changed since the last check', () => {
  const before = { create: 0, update: 1, tags_added: 0, tags_removed: 0, errors: 0 };
  assert.strictEqual(
    drift.sayChange(before, { ...before, create: 2 }),
    'Since the last check: 2 to create (was 0).',
  );
  assert.match(drift.sayChange(before, before), /^Unchanged since the last check: 0 to create, 1 to update/);
});

test('failed contacts without drift are not called drift', () => {
  const body = drift.body(args(plan(0, 2), '**contactctl plan:** 0 to create, 0 to update'));
  assert.ok(body.includes('**Some contacts of `my contacts/` could not be checked:** 0 to create, 0 to update'), body);
  assert.ok(body.includes('**2 contact(s) could not be checked** (the job fails):'));
});
