// A fake GitHub for the action's github-script code: issues (with labels and comments), labels,
// pull requests, refs, as github-script's `github` client exposes them (github.rest.*, paginate).
// Its state is a JSON file, so that one test can run the script several times, as successive
// workflow runs would, and inspect what it left. Every call is recorded in state.calls.
'use strict';

const fs = require('fs');

function notFound(what) {
  const e = new Error(`Not Found: ${what}`);
  e.status = 404;
  return e;
}

function load(file) {
  const empty = { issues: [], labels: [], comments: [], pulls: [], calls: [], next: 1 };
  return fs.existsSync(file) ? { ...empty, ...JSON.parse(fs.readFileSync(file, 'utf8')) } : empty;
}

function fakeGithub(file) {
  const state = load(file);
  const save = () => fs.writeFileSync(file, JSON.stringify(state, null, 1));
  const call = (name, p) => {
    state.calls.push({ call: name, ...p });
    save();
  };
  const issue = (n) => {
    const i = state.issues.find((x) => x.number === n);
    if (!i) throw notFound(`issue ${n}`);
    return i;
  };
  const rest = {
    issues: {
      listForRepo: async (p) => {
        call('issues.listForRepo', p);
        const want = (p.labels || '').split(',').filter(Boolean);
        const data = state.issues.filter(
          (i) =>
            (p.state === 'all' || i.state === (p.state || 'open')) &&
            want.every((l) => i.labels.some((x) => x.name === l)),
        );
        return { data };
      },
      getLabel: async (p) => {
        call('issues.getLabel', p);
        const l = state.labels.find((x) => x.name === p.name);
        if (!l) throw notFound(`label ${p.name}`);
        return { data: l };
      },
      createLabel: async (p) => {
        call('issues.createLabel', p);
        state.labels.push({ name: p.name, color: p.color, description: p.description });
        save();
        return { data: p };
      },
      create: async (p) => {
        call('issues.create', p);
        const i = {
          number: state.next++,
          title: p.title,
          body: p.body,
          state: 'open',
          labels: (p.labels || []).map((name) => ({ name })),
        };
        state.issues.push(i);
        save();
        return { data: i };
      },
      update: async (p) => {
        call('issues.update', p);
        const i = issue(p.issue_number);
        for (const k of ['title', 'body', 'state', 'state_reason']) if (k in p) i[k] = p[k];
        save();
        return { data: i };
      },
      createComment: async (p) => {
        call('issues.createComment', p);
        if (!state.pulls.some((x) => x.number === p.issue_number)) issue(p.issue_number);
        state.comments.push({ issue_number: p.issue_number, body: p.body });
        save();
        return { data: {} };
      },
    },
    pulls: {
      list: async (p) => {
        call('pulls.list', p);
        const data = state.pulls.filter(
          (x) =>
            (p.state === 'all' || x.state === (p.state || 'open')) &&
            (!p.head || `${p.owner}:${x.head}` === p.head) &&
            (!p.base || x.base === p.base),
        );
        return { data };
      },
      create: async (p) => {
        call('pulls.create', p);
        const x = { number: state.next++, title: p.title, body: p.body, head: p.head, base: p.base, state: 'open' };
        state.pulls.push(x);
        save();
        return { data: x };
      },
      update: async (p) => {
        call('pulls.update', p);
        const x = state.pulls.find((y) => y.number === p.pull_number);
        if (!x) throw notFound(`pull ${p.pull_number}`);
        for (const k of ['title', 'body', 'state']) if (k in p) x[k] = p[k];
        save();
        return { data: x };
      },
    },
  };
  return {
    state,
    github: { rest, paginate: async (method, params) => (await method(params)).data },
  };
}

module.exports = { fakeGithub };
