// Unit tests of adopt.js under node's own test runner (node --test action/), no npm package: it
// reads `contactctl adopt --format json` as src/render/adopt.rs writes it — refused contacts from
// contacts[].refusal, what is left for apply from left_for_apply[], the summary line in the text
// output's words, the not-in-repo count with the import hint — and the body fits 65,536
// characters. The pull request's life against the real binary, the sandbox and a fake GitHub is
// tested in tests/it/ecosystem_ci.rs.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const adopt = require('./adopt.js');

// The shape `contactctl adopt --format json` prints.
const report = {
  dry_run: false,
  contacts: [
    {
      channel: 'web',
      identity: 'email=juan@example.com',
      source: 'contacts/contactctl.yaml:10:5',
      status: 'adopted',
      edits: [{ file: 'contacts/contactctl.yaml', line: 10, column: 53, adopts: 'field', name: 'firstName', old: 'Juan', new: 'Juanjo' }],
      refusal: null,
    },
    {
      channel: 'web',
      identity: 'email=bea@example.com',
      source: 'contacts/contactctl.yaml:14:5',
      status: 'refused',
      edits: [],
      refusal: { file: 'contacts/contactctl.yaml', line: 14, column: 52, reason: 'this value is shared through a YAML anchor or alias (& / *)' },
    },
  ],
  left_for_apply: [
    { channel: 'viber', identity: 'email=ana@example.com', source: 'contacts/contactctl.yaml:12:5', reason: 'not on the platform: apply creates it' },
  ],
  not_in_repo: [{ channel: 'web', id: '7', identity: 'email=zoe@example.com' }],
  files: [{ file: 'contacts/contactctl.yaml', diff: '--- contacts/contactctl.yaml\n+++ contacts/contactctl.yaml\n@@ -10 +10 @@\n-Juan\n+Juanjo\n' }],
  summary: { adopted: 1, fields: 1, tags: 0, files: 1, refused: 1, left_for_apply: 1, not_in_repo: 1 },
};

test('refused contacts come from contacts[].refusal, the rest from left_for_apply[]', () => {
  assert.deepStrictEqual(adopt.leftOut(report), [
    'web: `email=bea@example.com`: refused (contacts/contactctl.yaml:14:52): this value is shared through a YAML anchor or alias (& / *)',
    'viber: `email=ana@example.com`: left for `contactctl apply`: not on the platform: apply creates it',
  ]);
  assert.deepStrictEqual(adopt.leftOut({ contacts: [report.contacts[0]] }), [], 'an adopted contact is not listed');
  assert.deepStrictEqual(adopt.leftOut(null), []);
});

test('the summary line is the text output\'s, built from summary', () => {
  assert.strictEqual(
    adopt.summaryLine(report),
    'Adopted 1 contact: 1 field, 0 tags in 1 file; 1 could not be adopted; 1 change left for apply.',
  );
  assert.strictEqual(
    adopt.summaryLine({ summary: { adopted: 4, fields: 3, tags: 2, files: 2, refused: 0, left_for_apply: 2, not_in_repo: 0 } }),
    'Adopted 4 contacts: 3 fields, 2 tags in 2 files; 2 changes left for apply.',
  );
  assert.strictEqual(
    adopt.summaryLine({ dry_run: true, summary: { adopted: 0, fields: 0, tags: 1, files: 1, refused: 0, left_for_apply: 0 } }),
    'Would adopt 0 contacts: 0 fields, 1 tag in 1 file.',
  );
});

test('the contacts not in the repo are counted with the import hint', () => {
  assert.strictEqual(
    adopt.notInRepoLine(report),
    '1 contact is on the platform, not in the repo (not added; bring them in with `contactctl import PATH --channel NAME --id ID`).',
  );
  assert.strictEqual(adopt.notInRepoLine({ summary: { not_in_repo: 0 } }), '');
});

test('the body holds the summary, the import hint and adopt\'s own diff', () => {
  const body = adopt.body({
    summary: adopt.summaryLine(report),
    notInRepo: adopt.notInRepoLine(report),
    diff: adopt.diffOf(report, 'the git diff'),
    left: adopt.leftOut(report),
    config: 'contacts/',
    runUrl: 'https://github.com/acme/contacts/actions/runs/4242',
  });
  assert.ok(body.includes('\n\nAdopted 1 contact: 1 field, 0 tags in 1 file; 1 could not be adopted; 1 change left for apply.\n'), body);
  assert.ok(body.includes('`contactctl import PATH --channel NAME --id ID`'), body);
  assert.ok(body.includes('2 contact(s) not adopted (listed in the drift issue).'), body);
  assert.ok(body.includes('```diff\n--- contacts/contactctl.yaml\n+++ contacts/contactctl.yaml\n@@ -10 +10 @@\n-Juan\n+Juanjo\n```\n'), body);
  assert.strictEqual(adopt.diffOf({ files: [] }, 'the git diff'), 'the git diff', 'no diff of its own: the step\'s');
});

test('a huge diff is cut to fit, the summary kept', () => {
  const diff = '+  - fields: { email: someone@example.com }\n'.repeat(5000);
  const body = adopt.body({ summary: adopt.summaryLine(report), diff, left: [], config: 'contacts/', runUrl: 'u' });
  assert.ok(body.length <= adopt.MAX_BODY, `${body.length}`);
  assert.ok(body.includes('Adopted 1 contact:'));
  assert.ok(body.includes('… the diff is cut here to fit; the branch holds every edit.'));
  assert.ok(body.endsWith('\n```\n'));
});
