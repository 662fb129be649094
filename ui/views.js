/* ingot UI views: overview, a queue, jobs (filters, bulk retry/cancel), a
 * job, schedules, LLM usage. Each reads only /v1. */
'use strict';
(function () {
  var el = App.el, api = App.api;
  var STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
  var enc = encodeURIComponent;

  function spark(values, cls, label) {
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'spark ' + cls);
    svg.setAttribute('viewBox', '0 0 120 24');
    svg.setAttribute('role', 'img');
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    svg.setAttribute('aria-label', label + ': ' + total + ' in the last hour');
    var max = Math.max(1, Math.max.apply(null, values));
    var pts = values.map(function (v, i) {
      return (i * 120 / Math.max(1, values.length - 1)).toFixed(1) + ',' + (22 - v * 20 / max).toFixed(1);
    }).join(' ');
    var pl = document.createElementNS(NS, 'polyline');
    pl.setAttribute('points', pts);
    svg.appendChild(pl);
    var t = document.createElementNS(NS, 'title');
    t.textContent = label + ': ' + total + ' in the last hour';
    svg.appendChild(t);
    return svg;
  }
  function busy(btn, p) {
    btn.disabled = true;
    return p.then(function (v) { btn.disabled = false; return v; },
                  function (e) { btn.disabled = false; App.toast(String(e), true); throw e; });
  }

  /* --- overview --- */
  /* One read (/v1/stats/queues): no count over a queue's jobs, so it stays
   * fast with millions of them; depth comes from serve's shared snapshot. */
  App.view('overview', function (box) {
    return api('GET', '/v1/stats/queues').then(function (st) {
      box.appendChild(el('h1', { text: 'Overview' }));
      if (!st.data.length) {
        box.appendChild(el('p', { class: 'muted', text: 'No queues yet: enqueue a job (POST /v1/jobs) and its queue appears here.' }));
        return;
      }
      var sum = function (a) { return a.reduce(function (x, y) { return x + y; }, 0); };
      function count(q, status, n) {
        return el('td', { class: 'num' }, n ? el('a', { href: '#/jobs?queue=' + enc(q) + '&status=' + status, 'data-count': status, text: n })
                                            : (n === null ? '-' : '0'));
      }
      box.appendChild(el('table', { id: 'queues' },
        el('thead', {}, el('tr', {}, ['Queue', 'Queued', 'Running', 'Succeeded (1 h)', 'Failed (1 h)', 'Oldest queued', 'Wait p95',
                                      'Throughput (1 h)', 'Failures (1 h)'].map(function (h, i) {
          return el('th', { class: i && i < 5 ? 'num' : '', text: h });
        }))),
        el('tbody', {}, st.data.map(function (q) {
          return el('tr', { 'data-queue': q.queue },
            el('td', {}, el('a', { href: '#/queue/' + enc(q.queue), text: q.queue }),
               q.paused ? el('span', { class: 'paused', text: ' paused' }) : null),
            count(q.queue, 'queued', q.queued), count(q.queue, 'running', q.running),
            count(q.queue, 'succeeded', sum(q.succeeded)), count(q.queue, 'failed', sum(q.failed)),
            el('td', { text: App.fmtMs(q.oldest_queued_age_ms) }),
            el('td', { text: App.fmtMs(q.wait_p95_ms) }),
            el('td', {}, spark(q.succeeded, 'ok', 'succeeded')),
            el('td', {}, spark(q.failed, 'bad', 'failed')));
        }))));
      box.appendChild(el('p', { class: 'muted', text: 'Queued and running as of ' +
        (st.depth_age_ms === null ? '-' : App.fmtMs(st.depth_age_ms)) + ' ago (QUEUE_DEPTH_REFRESH); ' +
        (st.truncated ? 'the hour from the latest ' + st.sampled + ' ended jobs.' : 'the hour from ' + st.sampled + ' ended jobs.') }));
    });
  }, true);

  /* --- a queue --- */
  function numOrNull(v) { v = String(v).trim(); return v === '' ? null : Number(v); }
  App.view('queue', function (box, r) {
    var name = r.args[0];
    return Promise.all([api('GET', '/v1/queues/' + enc(name) + '?counts=false'),
                        api('GET', '/v1/stats/queues?queue=' + enc(name))]).then(function (res) {
      var q = res[0], s = res[1].data[0] || { queued: null, running: null, succeeded: [], failed: [] };
      var sum = function (a) { return a.reduce(function (x, y) { return x + y; }, 0); };
      var path = '/v1/queues/' + enc(name);
      var toggle = el('button', { id: 'pause', type: 'button', class: q.paused ? 'primary' : 'danger',
        text: q.paused ? 'Resume queue' : 'Pause queue', onclick: function () {
          busy(toggle, api('PATCH', path, { paused: !q.paused })).then(function () {
            App.toast(q.paused ? 'Queue resumed' : 'Queue paused'); App.rerender();
          });
        } });
      box.appendChild(el('h1', {}, 'Queue ', el('code', { text: q.name }),
                         q.paused ? el('span', { class: 'paused', id: 'paused-badge', text: ' (paused)' }) : null));
      box.appendChild(el('div', { class: 'actions' }, toggle,
        el('a', { href: '#/jobs?queue=' + enc(q.name), text: 'Jobs of this queue' }),
        el('a', { href: '#/jobs?queue=' + enc(q.name) + '&status=failed', text: 'Failed jobs' })));
      box.appendChild(el('dl', { class: 'kv', id: 'queue-counts' },
        [['queued', s.queued], ['running', s.running], ['succeeded (1 h)', sum(s.succeeded)], ['failed (1 h)', sum(s.failed)],
         ['oldest queued', App.fmtMs(s.oldest_queued_age_ms)], ['wait p95 (1 h)', App.fmtMs(s.wait_p95_ms)]].map(function (kv) {
          return [el('dt', { text: kv[0] }), el('dd', { text: kv[1] === null || kv[1] === undefined ? '-' : kv[1] })];
        })));
      var rl = q.rate_limit || {}, g = q.group || {}, grl = g.rate_limit || {};
      function field(id, label, value) {
        return el('label', { for: id }, label, el('input', { id: id, inputmode: 'numeric', value: value === undefined || value === null ? '' : value }));
      }
      var form = el('form', { class: 'stack', id: 'limits', onsubmit: function (ev) {
        ev.preventDefault();
        var f = function (id) { return numOrNull(document.getElementById(id).value); };
        var rate = f('rate-max') && f('rate-ms') ? { max: f('rate-max'), duration_ms: f('rate-ms') } : null;
        var grate = f('grate-max') && f('grate-ms') ? { max: f('grate-max'), duration_ms: f('grate-ms') } : null;
        busy(save, api('PATCH', path, { concurrency: f('conc'), rate_limit: rate,
                                        group: { concurrency: f('gconc'), rate_limit: grate } }))
          .then(function () { App.toast('Limits saved'); App.rerender(); });
      } },
        field('conc', 'Concurrency (empty: none)', q.concurrency),
        field('rate-max', 'Rate limit: jobs', rl['default'] ? '' : rl.max),
        field('rate-ms', 'per milliseconds', rl['default'] ? '' : rl.duration_ms),
        field('gconc', 'Per-group concurrency', g.concurrency),
        field('grate-max', 'Per-group rate: jobs', grl.max),
        field('grate-ms', 'per milliseconds', grl.duration_ms));
      var save = el('button', { type: 'submit', class: 'primary', text: 'Save limits' });
      form.appendChild(el('div', {}, save));
      box.appendChild(el('h2', { text: 'Limits and groups' }));
      if (rl['default']) box.appendChild(el('p', { class: 'muted', text: 'Rate limit: the default (' + rl.max + ' per ' + rl.duration_ms + ' ms, QUEUE_LIMITER_MAX).' }));
      box.appendChild(form);
      box.appendChild(el('p', { class: 'muted', text: 'Groups: jobs with the same "group" share the per-group limits. List a group\'s jobs from Jobs with the group filter.' }));
    });
  }, true);

  /* --- jobs --- */
  var FILTERS = ['queue', 'status', 'kind', 'group', 'created_after', 'created_before'];
  function jobRow(j) {
    return el('tr', { 'data-job': j.id },
      el('td', {}, el('a', { href: '#/job/' + j.id, text: j.id })),
      el('td', { text: j.queue }), el('td', { text: j.kind }),
      el('td', { class: 'status-' + j.status, text: j.status }),
      el('td', { text: j.group || '' }), el('td', { class: 'num', text: j.attempts + '/' + j.max_attempts }),
      el('td', { text: App.fmtTime(j.created_at) }),
      el('td', { class: 'muted', text: j.last_error ? String(j.last_error).slice(0, 80) : '' }));
  }
  function bulk(op, filter, btn, out) {
    /* the API answers in batches within a time limit: go on with resume */
    var total = { matched: 0, changed: 0 };
    function step(resume) {
      var body = Object.assign({}, filter);
      if (!Object.keys(filter).length) body.all = true;
      if (resume) body.resume = resume;
      return api('POST', '/v1/jobs/' + op, body).then(function (r) {
        total.matched += r.matched; total.changed += r.changed;
        out.textContent = (op === 'retry' ? 'Retried ' : 'Cancelled ') + total.changed + ' of ' + total.matched + ' matched' +
          (r.complete ? '.' : '... (going on)');
        return r.complete ? total : step(r.resume);
      });
    }
    return busy(btn, step(null));
  }
  App.view('jobs', function (box, r) {
    var filter = {};
    FILTERS.forEach(function (k) { var v = r.query.get(k); if (v) filter[k] = v; });
    var cursor = r.query.get('cursor');
    var qs = new URLSearchParams(filter);
    qs.set('limit', '50');
    if (cursor) qs.set('cursor', cursor);
    return api('GET', '/v1/jobs?' + qs.toString()).then(function (list) {
      box.appendChild(el('h1', { text: 'Jobs' }));
      function input(k, label, type) {
        var id = 'f-' + k;
        if (k === 'status')
          return el('label', { for: id }, label, el('select', { id: id }, el('option', { value: '', text: 'any' }),
            STATES.map(function (s) { return el('option', { value: s, text: s, selected: filter.status === s }); })));
        return el('label', { for: id }, label, el('input', { id: id, type: type || 'text', value: filter[k] || '',
          placeholder: type ? '2026-01-31T00:00:00Z' : '' }));
      }
      box.appendChild(el('form', { class: 'filters', id: 'filters', onsubmit: function (ev) {
        ev.preventDefault();
        var p = new URLSearchParams();
        FILTERS.forEach(function (k) { var v = document.getElementById('f-' + k).value.trim(); if (v) p.set(k, v); });
        App.go('#/jobs?' + p.toString());
      } }, input('queue', 'Queue'), input('status', 'Status'), input('kind', 'Kind'), input('group', 'Group'),
        input('created_after', 'Created after', 'text'), input('created_before', 'Created before', 'text'),
        el('button', { type: 'submit', class: 'primary', text: 'Filter' })));
      var out = el('span', { id: 'bulk-result', role: 'status' });
      var confirmBox = el('span');
      function ask(op) {
        confirmBox.replaceChildren(
          el('span', { text: (op === 'retry' ? 'Retry' : 'Cancel') + ' every job this filter matches (' +
                             (Object.keys(filter).length ? JSON.stringify(filter) : 'all jobs') + ')? ' }),
          el('button', { id: 'bulk-confirm', type: 'button', class: 'danger', text: 'Yes, ' + op + ' them', onclick: function (ev) {
            bulk(op, filter, ev.target, out).then(function () { confirmBox.replaceChildren(); App.rerender(); });
          } }),
          el('button', { type: 'button', text: 'No', onclick: function () { confirmBox.replaceChildren(); } }));
        document.getElementById('bulk-confirm').focus();
      }
      box.appendChild(el('div', { class: 'actions' },
        el('button', { id: 'bulk-retry', type: 'button', text: 'Retry all matching', onclick: function () { ask('retry'); } }),
        el('button', { id: 'bulk-cancel', type: 'button', text: 'Cancel all matching', onclick: function () { ask('cancel'); } }),
        confirmBox, out));
      if (!list.data.length) { box.appendChild(el('p', { class: 'muted', text: 'No job matches.' })); return; }
      box.appendChild(el('table', { id: 'jobs' },
        el('thead', {}, el('tr', {}, ['Id', 'Queue', 'Kind', 'Status', 'Group', 'Attempts', 'Created', 'Last error']
          .map(function (h) { return el('th', { text: h }); }))),
        el('tbody', {}, list.data.map(jobRow))));
      if (list.has_more && list.next_cursor) {
        var p = new URLSearchParams(filter); p.set('cursor', list.next_cursor);
        box.appendChild(el('p', {}, el('a', { href: '#/jobs?' + p.toString(), text: 'Older jobs' })));
      }
    });
  }, true);

  /* --- a job --- */
  App.view('job', function (box, r) {
    var id = r.args[0];
    return Promise.all([api('GET', '/v1/jobs/' + enc(id)), api('GET', '/v1/jobs/' + enc(id) + '/attempts')]).then(function (res) {
      var j = res[0], atts = res[1].data || [];
      box.appendChild(el('h1', {}, 'Job ' + j.id + ' ', el('span', { id: 'job-status', class: 'status-' + j.status, text: j.status })));
      var acts = el('div', { class: 'actions' });
      if (j.status === 'failed' || j.status === 'cancelled')
        acts.appendChild(el('button', { id: 'retry', type: 'button', class: 'primary', text: 'Retry', onclick: function (ev) {
          busy(ev.target, api('POST', '/v1/jobs/' + j.id + '/retry', {})).then(function () { App.toast('Job ' + j.id + ' queued again'); App.rerender(); });
        } }));
      if (j.status === 'queued' || j.status === 'running')
        acts.appendChild(el('button', { id: 'cancel', type: 'button', class: 'danger', text: 'Cancel', onclick: function (ev) {
          busy(ev.target, api('POST', '/v1/jobs/' + j.id + '/cancel', {})).then(function () { App.toast('Job ' + j.id + ' cancelled'); App.rerender(); });
        } }));
      acts.appendChild(el('a', { href: '#/queue/' + enc(j.queue), text: 'Queue ' + j.queue }));
      box.appendChild(acts);
      box.appendChild(el('dl', { class: 'kv' },
        [['queue', j.queue], ['kind', j.kind], ['group', j.group || '-'], ['priority', j.priority],
         ['attempts', j.attempts + ' of ' + j.max_attempts], ['run at', App.fmtTime(j.run_at)],
         ['created', App.fmtTime(j.created_at)], ['started', App.fmtTime(j.started_at)],
         ['finished', App.fmtTime(j.finished_at)]].map(function (kv) {
          return [el('dt', { text: kv[0] }), el('dd', { text: kv[1] })];
        })));
      box.appendChild(el('h2', { text: 'Last error' }));
      box.appendChild(el('pre', { id: 'last-error', text: j.last_error || '-' }));
      box.appendChild(el('h2', { text: 'Result' }));
      box.appendChild(el('pre', { id: 'result', text: App.json(j.result) }));
      box.appendChild(el('h2', { text: 'Payload' }));
      box.appendChild(el('pre', { id: 'payload', text: App.json(j.payload) }));
      box.appendChild(el('h2', { text: 'Attempts' }));
      if (!atts.length) { box.appendChild(el('p', { class: 'muted', text: 'None yet.' })); return; }
      var cols = Object.keys(atts[0]).filter(function (k) { return k !== 'object'; });
      box.appendChild(el('table', { id: 'attempts' },
        el('thead', {}, el('tr', {}, cols.map(function (c) { return el('th', { text: c }); }))),
        el('tbody', {}, atts.map(function (a) {
          return el('tr', {}, cols.map(function (c) {
            var v = a[c];
            return el('td', { text: v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : v });
          }));
        }))));
    });
  }, true);

  /* --- schedules --- */
  App.view('schedules', function (box) {
    return api('GET', '/v1/schedules').then(function (list) {
      box.appendChild(el('h1', { text: 'Schedules' }));
      if (!list.data.length) { box.appendChild(el('p', { class: 'muted', text: 'No schedules (PUT /v1/schedules/{name}).' })); return; }
      box.appendChild(el('table', { id: 'schedules' },
        el('thead', {}, el('tr', {}, ['Name', 'Cron', 'Queue', 'Next fire times', 'Last fired', 'Actions']
          .map(function (h) { return el('th', { text: h }); }))),
        el('tbody', {}, list.data.map(function (s) {
          var path = '/v1/schedules/' + enc(s.name);
          return el('tr', { 'data-schedule': s.name },
            el('td', {}, s.name, s.paused ? el('span', { class: 'paused', text: ' paused' }) : null),
            el('td', {}, el('code', { text: s.cron }), ' ', el('span', { class: 'muted', text: s.timezone || '' })),
            el('td', { text: (s.job && s.job.queue) || 'default' }),
            el('td', { text: (s.next_fire_times || []).slice(0, 3).map(App.fmtTime).join(', ') || '-' }),
            el('td', { text: App.fmtTime(s.last_fired_at) }),
            el('td', {},
              el('button', { type: 'button', class: 'sched-pause', text: s.paused ? 'Resume' : 'Pause', onclick: function (ev) {
                busy(ev.target, api('PUT', path, { cron: s.cron, timezone: s.timezone, job: s.job, paused: !s.paused }))
                  .then(function () { App.toast('Schedule ' + s.name + (s.paused ? ' resumed' : ' paused')); App.rerender(); });
              } }), ' ',
              /* run now: the schedule's job enqueued now, as POST /v1/jobs */
              el('button', { type: 'button', class: 'sched-run', text: 'Run now', onclick: function (ev) {
                busy(ev.target, api('POST', '/v1/jobs', s.job)).then(function (j) {
                  App.toast('Schedule ' + s.name + ': job ' + j.id + ' enqueued');
                });
              } })));
        }))));
    });
  });

  /* --- LLM usage --- */
  function usageTable(id, data, first) {
    var heads = [first[1], 'Requests', 'Prompt tokens', 'Completion tokens', 'Total tokens', 'Cost (USD)'];
    return el('table', { id: id },
      el('thead', {}, el('tr', {}, heads.map(function (h, i) { return el('th', { class: i ? 'num' : '', text: h }); }))),
      el('tbody', {}, data.map(function (u) {
        return el('tr', {}, el('td', { text: u[first[0]] }),
          [u.requests, u.prompt_tokens, u.completion_tokens, u.total_tokens,
           u.cost_usd === null || u.cost_usd === undefined ? '-' : Number(u.cost_usd).toFixed(4)]
            .map(function (v) { return el('td', { class: 'num', text: v }); }));
      })));
  }
  App.view('usage', function (box) {
    var to = new Date(Date.now() + 86400000), from = new Date(to.getTime() - 31 * 86400000);
    var span = '&from=' + from.toISOString().slice(0, 10) + '&to=' + to.toISOString().slice(0, 10);
    return Promise.all([api('GET', '/v1/usage?group_by=model' + span), api('GET', '/v1/usage?group_by=day' + span),
                        api('GET', '/v1/limits')]).then(function (r) {
      box.appendChild(el('h1', { text: 'LLM usage' }));
      box.appendChild(el('h2', { text: 'Budgets and what is left' }));
      var lim = r[2], rows = [];
      ['tenant', 'key'].forEach(function (scope) {
        var sc = lim[scope];
        if (!sc) return;
        var l = sc.limits || {}, u = sc.used || {}, left = sc.remaining || {};
        [['tokens_per_day', 'tokens_day'], ['tokens_per_month', 'tokens_month'], ['usd_per_month', 'usd_month'],
         ['rpm', null], ['tpm', null]].forEach(function (p) {
          if (l[p[0]] === null || l[p[0]] === undefined) return;
          rows.push(el('tr', {}, el('td', { text: scope }), el('td', { text: p[0] }), el('td', { class: 'num', text: l[p[0]] }),
            el('td', { class: 'num', text: p[1] && u[p[1]] !== undefined ? u[p[1]] : '-' }),
            el('td', { class: 'num', text: p[1] && left[p[1]] !== undefined && left[p[1]] !== null ? left[p[1]] : '-' })));
        });
      });
      box.appendChild(rows.length ? el('table', { id: 'limits' }, el('thead', {}, el('tr', {},
        ['Scope', 'Budget', 'Set', 'Used', 'Left'].map(function (h) { return el('th', { text: h }); }))), el('tbody', {}, rows))
        : el('p', { class: 'muted', text: 'No LLM budget set for this tenant or key (`ingot admin limits`).' }));
      box.appendChild(el('h2', { text: 'By model (31 days)' }));
      box.appendChild(r[0].data.length ? usageTable('usage-model', r[0].data, ['model', 'Model'])
                                       : el('p', { class: 'muted', text: 'No LLM usage in these 31 days.' }));
      box.appendChild(el('h2', { text: 'By day' }));
      if (r[1].data.length) box.appendChild(usageTable('usage-day', r[1].data, ['day', 'Day']));
    });
  });
})();
