/* ingot UI core: the session (login, refresh, log out), the /v1 client
 * (CSRF token, Ingot-Tenant), the hash router, live updates (server-sent
 * events from /ui/events) and small DOM helpers. Plain JS, no build step.
 * The views are in views.js and admin.js (App.view(name, fn)). */
'use strict';
var App = (function () {
  var st = { me: null, tenant: null, csrf: '', es: null, views: {}, refreshTimer: 0, liveTimer: 0, lastLive: 0,
             methods: { oidc: false, api_key: false }, renderGen: 0, esFails: 0 };

  /* el('tag', {class, text, href, onclick, ...}, children...): no
   * innerHTML anywhere, so nothing from the API is ever parsed as HTML. */
  function el(tag, attrs) {
    var e = document.createElement(tag);
    var a = attrs || {};
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') e.textContent = String(v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(e, kid) {
    if (kid === undefined || kid === null || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { add(e, k); }); return; }
    e.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '-';
    if (ms < 1000) return ms + ' ms';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor(s % 3600 / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor(s % 86400 / 3600) + ' h';
  }
  function fmtTime(t) { return t ? String(t).replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC') : '-'; }
  function json(v) { return v === undefined || v === null ? '-' : JSON.stringify(v, null, 2); }
  function toast(msg, bad) {
    var t = el('div', { class: bad ? 'bad' : '', text: msg });
    var box = document.getElementById('toast');
    while (box.children.length >= 3) box.firstChild.remove(); /* the latest three */
    box.appendChild(t);
    setTimeout(function () { t.remove(); }, bad ? 8000 : 3500);
  }
  function cookie(name) {
    var m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : '';
  }

  function ApiError(status, code, message, param) {
    this.status = status; this.code = code; this.message = message; this.param = param;
  }
  ApiError.prototype.toString = function () { return this.message; };

  function request(method, path, body, tenant) {
    var h = { Accept: 'application/json' };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (method !== 'GET') h['X-CSRF-Token'] = st.csrf || cookie('ingot_csrf');
    if (tenant && st.tenant) h['Ingot-Tenant'] = st.tenant;
    return fetch(path, { method: method, headers: h, credentials: 'same-origin',
                         body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (t) {
          var j = null;
          try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
          if (!r.ok) {
            var er = (j && j.error) || {};
            throw new ApiError(r.status, er.code || '', er.message || ('HTTP ' + r.status), er.param);
          }
          return j;
        });
      });
  }
  /* A /v1 call for the chosen tenant; an expired access token is renewed
   * once; an ended session goes back to the login page. */
  function api(method, path, body) {
    return request(method, path, body, true).catch(function (e) {
      if (e.status === 401 && e.code === 'session_expired')
        return refresh().then(function () { return request(method, path, body, true); });
      if (e.status === 401) { showLogin('Your session ended: log in again.'); }
      throw e;
    });
  }

  function setMe(me) {
    st.me = me;
    st.csrf = me.csrf_token;
    var names = me.tenants.map(function (t) { return t.name; });
    var want = sessionStorage.getItem('ingot.tenant');
    st.tenant = names.indexOf(want) >= 0 ? want : (names[0] || null);
    clearTimeout(st.refreshTimer);
    /* renewed a minute before it expires: one timer per token, no polling */
    var inMs = Math.max(5000, (me.access_expires_at * 1000 - Date.now()) - 60000);
    st.refreshTimer = setTimeout(function () { refresh().catch(function () {}); }, inMs);
  }
  function refresh() {
    return request('POST', '/auth/refresh', undefined, false).then(function (me) {
      setMe(me);
      if (!st.es || st.es.readyState === 2) live();
      return me;
    }, function (e) { showLogin('Your session ended: log in again.'); throw e; });
  }

  /* --- login --- */
  function showLogin(msg) {
    clearTimeout(st.refreshTimer);
    if (st.es) { st.es.close(); st.es = null; }
    st.me = null;
    document.getElementById('top').hidden = true;
    var main = document.getElementById('main');
    main.replaceChildren();
    var box = el('section', { class: 'login', 'aria-labelledby': 'login-h' },
      el('h1', { id: 'login-h', text: 'Log in to ingot' }),
      msg ? el('p', { class: 'err', role: 'alert', text: msg }) : null);
    if (st.methods.oidc) {
      box.appendChild(el('p', {}, el('a', { id: 'login-oidc', class: 'button', href: '/auth/login?return_to=/ui/',
                                            text: 'Log in with single sign-on' })));
    }
    if (st.methods.api_key) {
      var input = el('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true,
                                placeholder: 'ik_...', 'aria-describedby': 'key-help' });
      var err = el('p', { class: 'err', role: 'alert' });
      box.appendChild(el('form', { id: 'login-key', onsubmit: function (ev) {
        ev.preventDefault();
        request('POST', '/auth/login/key', { api_key: input.value.trim() }, false).then(function (me) {
          setMe(me); startApp();
        }, function (e) { err.textContent = e.message; });
      } },
        el('label', { for: 'api-key', text: 'API key' }), input,
        el('small', { id: 'key-help', class: 'muted', text: 'A tenant\'s key from `ingot admin key create`.' }),
        el('button', { type: 'submit', class: 'primary', text: 'Log in' }), err));
    }
    if (!st.methods.oidc && !st.methods.api_key)
      box.appendChild(el('p', { text: 'Login is off on this server: set JWT_SECRET (and OAUTH_SERVER_URL for single sign-on).' }));
    main.appendChild(box);
  }

  /* --- live updates --- */
  function live() {
    if (st.es) st.es.close();
    var badge = document.getElementById('live');
    var es = new EventSource('/ui/events');
    st.es = es;
    es.addEventListener('hello', function (ev) {
      st.esFails = 0;
      var d = JSON.parse(ev.data);
      badge.textContent = d.live ? 'live' : 'no live updates';
      badge.className = d.live ? 'live on' : 'live';
    });
    es.addEventListener('jobs', function () {
      /* a burst of events re-reads the view once, and at most once a
       * second however busy the queues are */
      if (st.liveTimer) return;
      var wait = Math.max(150, st.lastLive + 1000 - Date.now());
      st.liveTimer = setTimeout(function () { st.liveTimer = 0; st.lastLive = Date.now(); liveRender(); }, wait);
    });
    es.onerror = function () {
      badge.textContent = 'reconnecting'; badge.className = 'live';
      /* refused (token expired, or 503: too many streams, draining): renew,
       * then reconnect, waiting longer after each refusal in a row */
      if (es.readyState === 2 && st.me)
        setTimeout(function () { if (st.es === es) refresh().catch(function () {}); },
                   Math.min(60000, 1000 * Math.pow(2, st.esFails++)));
    };
  }

  /* A live update waits while a field of the page has the focus: it would
   * rebuild the form under the user's typing; it runs when focus leaves. */
  function editing() {
    var a = document.activeElement;
    return a && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName) && document.getElementById('main').contains(a);
  }
  function liveRender() {
    if (editing()) { st.livePending = true; return; }
    st.livePending = false;
    render(true);
  }

  /* --- router --- */
  function route() {
    var h = location.hash.replace(/^#\/?/, '');
    var q = '', i = h.indexOf('?');
    if (i >= 0) { q = h.slice(i + 1); h = h.slice(0, i); }
    var parts = h.split('/').filter(Boolean).map(decodeURIComponent);
    return { name: parts[0] || 'overview', args: parts.slice(1), query: new URLSearchParams(q) };
  }
  function render(isLive) {
    if (!st.me) return Promise.resolve();
    var r = route();
    var fn = st.views[r.name] || st.views.overview;
    if (isLive && !fn.live) return Promise.resolve();
    document.querySelectorAll('header nav a').forEach(function (a) {
      var on = a.getAttribute('href') === '#/' + (r.name === 'overview' ? '' : r.name);
      a.className = on ? 'on' : '';
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    var main = document.getElementById('main');
    /* Only the newest render may fill main: an older one still loading
     * (the queue re-read after a pause, a live update) must not replace
     * the view navigated to since. */
    var gen = ++st.renderGen;
    if (!st.tenant && r.name !== 'tenants') {
      main.replaceChildren(el('h1', { text: 'No tenant' }), el('p', { text: 'This login may see no tenant yet: ' +
        'the operator grants it one with `ingot admin tenant member add TENANT ' + st.me.subject + '`.' }));
      return Promise.resolve();
    }
    var focusId = document.activeElement && document.activeElement.id;
    var box = el('div');
    return Promise.resolve(fn(box, r)).then(function () {
      if (gen !== st.renderGen) return;
      main.replaceChildren(box);
      main.setAttribute('data-view', r.name);
      if (focusId && document.getElementById(focusId)) document.getElementById(focusId).focus();
      else if (!isLive) main.focus();
    }, function (e) {
      if ((e && e.status === 401) || gen !== st.renderGen) return;
      main.replaceChildren(el('h1', { text: 'Could not load this view' }), el('p', { class: 'err', text: String(e) }));
    });
  }

  function startApp() {
    var top = document.getElementById('top');
    top.hidden = false;
    document.getElementById('who').textContent = st.me.subject + (st.me.operator ? ' (operator)' : '');
    document.getElementById('nav-tenants').hidden = !st.me.operator;
    var sel = document.getElementById('tenant');
    sel.replaceChildren();
    st.me.tenants.forEach(function (t) { sel.appendChild(el('option', { value: t.name, text: t.name })); });
    sel.value = st.tenant || '';
    sel.disabled = st.me.tenants.length < 2;
    live();
    render(false);
  }

  function logout() {
    request('POST', '/auth/logout', undefined, false).catch(function () {}).then(function () {
      sessionStorage.removeItem('ingot.tenant');
      showLogin('');
    });
  }

  function boot() {
    window.addEventListener('hashchange', function () { st.livePending = false; render(false); });
    document.getElementById('main').addEventListener('focusout', function () {
      if (st.livePending) setTimeout(function () { if (st.livePending) liveRender(); }, 0);
    });
    document.getElementById('logout').addEventListener('click', logout);
    document.getElementById('tenant').addEventListener('change', function (ev) {
      st.tenant = ev.target.value;
      sessionStorage.setItem('ingot.tenant', st.tenant);
      render(false);
    });
    /* the CSRF cookie (not HttpOnly) tells a session may exist: no
     * request that is sure to fail with 401; both asked at once */
    var methods = fetch('/ui/methods.json').then(function (r) { return r.json(); })
      .then(function (m) { st.methods = m; }, function () {});
    if (!cookie('ingot_csrf')) { methods.then(function () { showLogin(''); }); return; }
    var me = request('GET', '/auth/me', undefined, false);
    methods.then(function () { return me; }).then(function (m) { setMe(m); startApp(); },
      function (e) {
        if (e.code === 'session_expired') return refresh().then(startApp, function () {});
        showLogin('');
      });
  }
  document.addEventListener('DOMContentLoaded', boot);

  return {
    el: el, fmtMs: fmtMs, fmtTime: fmtTime, json: json, toast: toast, api: api, ApiError: ApiError,
    me: function () { return st.me; }, tenant: function () { return st.tenant; },
    view: function (name, fn, isLive) { fn.live = !!isLive; st.views[name] = fn; },
    go: function (hash) { if (location.hash === hash) render(false); else location.hash = hash; },
    rerender: function () { return render(false); }
  };
})();
