/* ingot UI, operator only: tenants and their keys. */
'use strict';
(function () {
  var el = App.el;
  App.view('tenants', function (box) {
    var me = App.me();
    box.appendChild(el('h1', { text: 'Tenants and keys' }));
    if (!me.operator) {
      box.appendChild(el('p', { class: 'err', text: 'Only the operator (OWNER_OPEN_ID) manages tenants and keys.' }));
      return;
    }
    box.appendChild(el('table', { id: 'tenants' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Id' }), el('th', { text: 'Tenant' }))),
      el('tbody', {}, me.tenants.map(function (t) {
        return el('tr', {}, el('td', { text: t.id }), el('td', { text: t.name }));
      }))));
  });
})();
