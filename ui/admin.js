/* ingot UI, operator only: tenants, their keys and LLM limits, through
 * /v1/admin (the operator's login session; never an API key). */
'use strict';
(function () {
  var el = App.el, api = App.api, enc = encodeURIComponent;
  var LIMITS = [['rpm', 'Requests/min'], ['tpm', 'Tokens/min'], ['tokens_per_day', 'Tokens/day'],
                ['tokens_per_month', 'Tokens/month'], ['usd_per_month', 'USD/month']];

  function fail(e) { App.toast(String(e), true); throw e; }

  App.view('tenants', function (box, r) {
    var me = App.me();
    box.appendChild(el('h1', { text: 'Tenants and keys' }));
    if (!me.operator) {
      box.appendChild(el('p', { class: 'err', text: 'Only the operator (OWNER_OPEN_ID) manages tenants and keys.' }));
      return;
    }
    var open = r.args[0];
    return api('GET', '/v1/admin/tenants').then(function (list) {
      var nameIn = el('input', { id: 'new-tenant', required: true, pattern: '[A-Za-z0-9._:\\-]{1,64}', placeholder: 'acme' });
      box.appendChild(el('form', { class: 'filters', id: 'tenant-create', onsubmit: function (ev) {
        ev.preventDefault();
        api('POST', '/v1/admin/tenants', { name: nameIn.value.trim() }).then(function (t) {
          App.toast('Tenant ' + t.name + ' created');
          App.go('#/tenants/' + enc(t.name));
        }, fail);
      } }, el('label', { for: 'new-tenant' }, 'New tenant', nameIn),
         el('button', { type: 'submit', class: 'primary', text: 'Create tenant' })));
      box.appendChild(el('table', { id: 'tenants' },
        el('thead', {}, el('tr', {}, ['Id', 'Tenant', 'Active keys', 'LLM limits', 'Created'].map(function (h) {
          return el('th', { text: h });
        }))),
        el('tbody', {}, list.data.map(function (t) {
          var lim = LIMITS.filter(function (l) { return t.limits[l[0]] !== null; })
            .map(function (l) { return l[1] + ' ' + t.limits[l[0]]; }).join(', ') || 'none';
          return el('tr', { 'data-tenant': t.name }, el('td', { text: t.id }),
            el('td', {}, el('a', { href: '#/tenants/' + enc(t.name), text: t.name })),
            el('td', { class: 'num', text: t.active_keys }), el('td', { text: lim }),
            el('td', { text: App.fmtTime(t.created_at) }));
        }))));
      var t = list.data.filter(function (x) { return x.name === open; })[0];
      if (!t) return;
      return api('GET', '/v1/admin/tenants/' + enc(t.name) + '/keys').then(function (keys) { detail(box, t, keys.data); });
    });
  });

  function detail(box, t, keys) {
    var path = '/v1/admin/tenants/' + enc(t.name);
    box.appendChild(el('h2', { id: 'tenant-h', text: 'Tenant ' + t.name }));
    var shown = el('div', { id: 'new-key', role: 'status' });
    var label = el('input', { id: 'key-label', placeholder: 'label (optional)' });
    box.appendChild(el('form', { class: 'filters', id: 'key-create', onsubmit: function (ev) {
      ev.preventDefault();
      api('POST', path + '/keys', label.value.trim() ? { name: label.value.trim() } : {}).then(function (k) {
        /* shown this once: the server keeps only its hash */
        App.rerender().then(function () {
          var s = document.getElementById('new-key');
          if (s) s.replaceChildren(el('p', {}, 'New key ' + k.prefix + ' (copy it now, it is not shown again): '),
                                   el('pre', { id: 'new-key-value', text: k.key }));
        });
      }, fail);
    } }, el('label', { for: 'key-label' }, 'Key label', label), el('button', { type: 'submit', class: 'primary', text: 'Create key' })));
    box.appendChild(shown);
    box.appendChild(keys.length ? el('table', { id: 'keys' },
      el('thead', {}, el('tr', {}, ['Prefix', 'Label', 'Created', 'Revoked', ''].map(function (h) { return el('th', { text: h }); }))),
      el('tbody', {}, keys.map(function (k) {
        return el('tr', { 'data-key': k.prefix }, el('td', {}, el('code', { text: k.prefix })), el('td', { text: k.name }),
          el('td', { text: App.fmtTime(k.created_at) }), el('td', { text: k.revoked_at ? App.fmtTime(k.revoked_at) : '' }),
          el('td', {}, k.revoked_at ? '' : el('button', { type: 'button', class: 'danger revoke', text: 'Revoke', 'aria-label': 'Revoke ' + k.prefix,
            onclick: function (ev) {
              ev.target.disabled = true;
              api('POST', '/v1/admin/keys/' + k.id + '/revoke', {}).then(function () {
                App.toast('Key ' + k.prefix + ' revoked (it stops working within 30 s)'); App.rerender();
              }, fail);
            } })));
      }))) : el('p', { class: 'muted', text: 'No key yet.' }));
    box.appendChild(el('h2', { text: 'LLM limits of ' + t.name }));
    var form = el('form', { class: 'stack', id: 'tenant-limits', onsubmit: function (ev) {
      ev.preventDefault();
      var body = {};
      LIMITS.forEach(function (l) {
        var v = document.getElementById('lim-' + l[0]).value.trim();
        body[l[0]] = v === '' ? null : Number(v);
      });
      api('PATCH', path, { limits: body }).then(function () { App.toast('Limits of ' + t.name + ' saved'); App.rerender(); }, fail);
    } }, LIMITS.map(function (l) {
      return el('label', { for: 'lim-' + l[0] }, l[1] + ' (empty: none)',
                el('input', { id: 'lim-' + l[0], inputmode: 'decimal', value: t.limits[l[0]] === null ? '' : t.limits[l[0]] }));
    }), el('div', {}, el('button', { type: 'submit', class: 'primary', text: 'Save limits' })));
    box.appendChild(form);
  }
})();
