// The Runner operator console: renders the node's /admin API in the page shell served at /ui. No framework, no build
// step: every element is built with el() (text is always set as text, never parsed as HTML).
'use strict';

(() => {
  const body = document.body;
  const operator = body.dataset.access === 'operate';
  const main = document.getElementById('main');
  const banner = document.getElementById('banner');
  const PAGE = 25;

  // --- small helpers ---------------------------------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const enc = encodeURIComponent;
  const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
  const when = (t) => (t ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');
  const query = () => new URLSearchParams(location.search);

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)runner_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : '';
  }

  // Calls the admin API; resolves to { ok, status, json }. A lost session leads back to the sign-in page.
  async function api(path, options = {}) {
    const init = { method: options.method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers['Content-Type'] = 'application/json';
    }
    if (init.method !== 'GET') init.headers['X-Runner-Csrf'] = csrf();
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, json: { error: 'the node did not answer (' + e.message + ')' } };
    }
    if (response.status === 401 && body.dataset.tokens === 'on') {
      location.href = '/ui/login?next=' + enc(location.pathname + location.search);
      return new Promise(() => {});
    }
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = { error: response.status + ' ' + response.statusText };
    }
    return { ok: response.ok, status: response.status, json };
  }

  const errorOf = (r) => (r.json && r.json.error) || ('HTTP ' + r.status);
  const problem = (r, what) => el('p', { class: 'error' }, (what ? what + ': ' : '') + errorOf(r));

  function table(id, headers, rows, empty) {
    if (!rows.length) return el('p', { id, class: 'muted' }, empty || 'nothing to show');
    return el('table', { id },
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows));
  }

  function section(title, ...children) {
    return el('section', {}, el('h2', { text: title }), ...children);
  }

  function pager(offset, count, total, more, go) {
    const last = offset + count;
    return el('div', { class: 'pager' },
      el('button', { type: 'button', class: 'prev', disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, '‹ previous'),
      el('span', { class: 'muted' }, count ? `${fmt(offset + 1)}–${fmt(last)}${total !== null && total !== undefined ? ' of ' + fmt(total) : ''}` : 'none'),
      el('button', { type: 'button', class: 'next', disabled: !more, onclick: () => go(offset + PAGE) }, 'next ›'));
  }

  // For a list that reloads (search, paging, filters): only the latest request may render, so that an earlier answer
  // arriving late does not overwrite a newer one.
  function latestOnly() {
    let issued = 0;
    return () => {
      const mine = ++issued;
      return () => mine === issued;
    };
  }

  function badge(text, kind) {
    return el('span', { class: 'badge ' + (kind || '') }, text);
  }

  function render(...children) {
    main.replaceChildren(...children);
  }

  function setTitle(title) {
    document.title = title + ' · Runner';
  }

  // A line chart of one or more series over time, in SVG (no library).
  function chart(id, title, points, series) {
    const width = 520;
    const height = 140;
    const pad = 28;
    const svgNs = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('id', id);
    svg.setAttribute('role', 'img');
    const max = Math.max(1, ...series.flatMap((s) => points.map((p) => s.value(p) || 0)));
    const t0 = points.length ? points[0].t : 0;
    const t1 = points.length ? points[points.length - 1].t : 1;
    const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (width - 2 * pad);
    const y = (v) => height - pad + 8 - (v / max) * (height - 2 * pad);
    const line = (x1, y1, x2, y2, cls) => {
      const l = document.createElementNS(svgNs, 'line');
      Object.entries({ x1, y1, x2, y2, class: cls }).forEach(([k, v]) => l.setAttribute(k, v));
      svg.append(l);
    };
    const text = (tx, ty, value, cls) => {
      const t = document.createElementNS(svgNs, 'text');
      t.setAttribute('x', tx);
      t.setAttribute('y', ty);
      t.setAttribute('class', cls || 'axis');
      t.textContent = value;
      svg.append(t);
    };
    line(pad, y(0), width - pad, y(0), 'axis');
    line(pad, y(max), width - pad, y(max), 'grid');
    text(2, y(max) + 4, fmt(Math.round(max)));
    text(2, y(0) + 4, '0');
    if (points.length > 1) {
      text(pad, height - 2, new Date(t0).toISOString().slice(11, 19));
      text(width - pad - 48, height - 2, new Date(t1).toISOString().slice(11, 19));
    }
    series.forEach((s, i) => {
      const path = document.createElementNS(svgNs, 'polyline');
      path.setAttribute('points', points.map((p) => `${x(p.t).toFixed(1)},${y(s.value(p) || 0).toFixed(1)}`).join(' '));
      path.setAttribute('class', 'series s' + i);
      svg.append(path);
      text(width - pad - 150 + i * 80, 12, s.name, 'legend s' + i);
    });
    return el('figure', {}, el('figcaption', { text: title }), svg);
  }

  // --- readiness ---------------------------------------------------------------------------------------------------------

  async function readiness() {
    let r;
    try {
      const response = await fetch('/ready', { credentials: 'same-origin' });
      r = { status: response.status, json: await response.json() };
    } catch (e) {
      r = { status: 0, json: null };
    }
    if (r.status === 200) {
      banner.hidden = true;
      return;
    }
    const j = r.json || {};
    const why = [];
    if (r.status === 0) why.push('the node does not answer');
    if (j.joined === false) why.push('not joined to the cluster');
    if (j.natsConnected === false) why.push('not connected to NATS');
    if (j.storageOpen === false) why.push('its LMDB store is not open');
    if (j.draining) why.push('draining');
    for (const c of j.akka || []) if (c.status !== 'Healthy') why.push(`${c.name}: ${c.description || c.status}`);
    banner.replaceChildren(el('strong', {}, 'This node is not ready'), ': ' + (why.join('; ') || 'HTTP ' + r.status) +
      '. What it shows may be incomplete until it is.');
    banner.hidden = false;
  }

  // --- pages -------------------------------------------------------------------------------------------------------------

  function tenantLink(tenant) {
    return el('a', { href: '/ui/tenants/' + enc(tenant), class: 'tenant-link' }, tenant);
  }

  async function clusterPage() {
    setTitle('Cluster');
    const [cluster, regions] = await Promise.all([api('/admin/cluster'), api('/admin/regions')]);
    const perAddress = {};
    if (regions.ok) for (const r of regions.json.regions) perAddress[r.address] = r.tenants.length;
    const members = cluster.ok
      ? table('members', ['member', 'shard id', 'status', 'reachable', 'roles', 'tenants'], cluster.json.members.map((m) => el('tr', {},
        el('td', {}, m.address, m.address === cluster.json.self ? badge('this node', 'info') : null, m.address === cluster.json.leader ? badge('leader') : null),
        el('td', { text: m.shardId || '–' }),
        el('td', {}, badge(m.status, m.status === 'Up' ? 'ok' : 'warn')),
        el('td', {}, m.reachable ? badge('yes', 'ok') : badge('unreachable', 'bad')),
        el('td', { class: 'small', text: m.roles.join(', ') }),
        el('td', { text: perAddress[m.address] === undefined ? '–' : fmt(perAddress[m.address]) }))))
      : problem(cluster, 'members');

    const list = el('div', { id: 'tenant-list' });
    const search = el('input', { id: 'tenant-search', type: 'search', placeholder: 'tenant id contains…', value: query().get('q') || '' });
    const ticket = latestOnly();
    const load = async (offset) => {
      const current = ticket();
      const q = search.value.trim();
      const r = await api(`/admin/tenants?offset=${offset}&limit=${PAGE}${q ? '&search=' + enc(q) : ''}`);
      if (!current()) return;
      if (!r.ok) return list.replaceChildren(problem(r, 'tenants'));
      const rows = r.json.tenants.map((t) => el('tr', { 'data-tenant': t.tenant },
        el('td', {}, tenantLink(t.tenant)),
        el('td', {}, t.status, t.unplaced ? badge('unplaced', 'bad') : null),
        el('td', {}, t.placement.shardId || '–', ' ', el('span', { class: 'muted small', text: t.placement.source })),
        el('td', {}, t.owner ? `${t.owner.shardId} · epoch ${t.owner.epoch} · ${t.owner.status}` : el('span', { class: 'muted', text: 'no home record' })),
        el('td', { class: 'num', text: fmt(t.backlog) })));
      list.dataset.query = q; // what the list shows (the browser specs wait for it)
      list.replaceChildren(
        table('tenants', ['tenant', 'status', 'placement', 'custody (owner · epoch · status)', 'backlog'], rows, 'no tenant matches'),
        pager(r.json.offset, r.json.tenants.length, r.json.total, r.json.more, load));
    };
    search.addEventListener('keydown', (e) => { if (e.key === 'Enter') load(0); });
    render(
      el('h1', { text: 'Cluster' }),
      section('Members', members),
      section('Tenants', el('div', { class: 'toolbar' }, search, el('button', { type: 'button', id: 'tenant-search-go', onclick: () => load(0) }, 'Search')), list));
    await load(0);
  }

  async function tenantPage(tenant) {
    setTitle(tenant);
    const [row, dlq, samples] = await Promise.all([
      api('/admin/tenants/' + enc(tenant)), api('/admin/dlq'), api('/admin/tenants/' + enc(tenant) + '/samples')]);
    if (!row.ok) return render(el('h1', { text: 'Tenant ' + tenant }), problem(row));
    const t = row.json;
    const sagas = Object.keys(t.lag);
    const dead = dlq.ok ? (dlq.json.byTenant || {})[tenant] || 0 : null;
    const summary = el('dl', { id: 'tenant-summary', class: 'facts' },
      el('dt', { text: 'status' }), el('dd', { id: 'tenant-status', text: t.status }),
      el('dt', { text: 'placement' }), el('dd', { text: t.placement.detail }),
      el('dt', { text: 'custody' }), el('dd', { text: t.owner ? `owner ${t.owner.shardId}, epoch ${t.owner.epoch}, ${t.owner.status}${t.owner.reason ? ' (' + t.owner.reason + ')' : ''}` : 'no home record (custody off, or never started)' }),
      el('dt', { text: 'backlog' }), el('dd', { id: 'tenant-backlog', text: fmt(t.backlog) + ' event(s) not yet applied by every saga' }),
      el('dt', { text: 'lag per saga' }), el('dd', {}, sagas.map((s) => el('span', { class: 'pill' }, `${s}: ${t.lag[s] === null ? 'never consumed' : fmt(t.lag[s])}`))),
      el('dt', { text: 'dead letters' }), el('dd', {}, dead === null ? problem(dlq) : el('a', { id: 'tenant-dlq', href: '/ui/dlq?tenant=' + enc(tenant) }, fmt(dead) + ' parked')));

    let charts;
    if (!samples.ok) charts = problem(samples, 'history');
    else if (samples.json.samples.length < 2) {
      charts = el('p', { id: 'tenant-charts', class: 'muted' }, t.runningHere
        ? `Collecting: a sample every ${samples.json.intervalSeconds}s on this node.`
        : `No history here: the charts come from the node that runs the tenant (${t.status}). Open that node's console.`);
    } else {
      const points = samples.json.samples.map((s) => ({ t: Date.parse(s.at), lag: s.lag, applied: s.sagas.reduce((a, x) => a + x.appliedSeq, 0) }));
      const rates = points.slice(1).map((p, i) => ({ t: p.t, rate: Math.max(0, (p.applied - points[i].applied) / Math.max(0.001, (p.t - points[i].t) / 1000)) }));
      charts = el('div', { id: 'tenant-charts', class: 'charts' },
        chart('chart-backlog', 'Backlog (events not yet applied, all sagas)', points, [{ name: 'backlog', value: (p) => p.lag }]),
        chart('chart-throughput', 'Throughput (events applied per second, all sagas)', rates, [{ name: 'events/s', value: (p) => p.rate }]));
    }

    const instances = el('div', { id: 'instance-list' });
    const sagaSelect = el('select', { id: 'instance-saga' }, el('option', { value: '' }, 'all sagas'), sagas.map((s) => el('option', { value: s }, s)));
    const stateSelect = el('select', { id: 'instance-state' }, ['', 'active', 'completed'].map((s) => el('option', { value: s }, s || 'any state')));
    const search = el('input', { id: 'instance-search', type: 'search', placeholder: 'correlation id contains…' });
    const ticket = latestOnly();
    const load = async (offset) => {
      const current = ticket();
      const params = new URLSearchParams({ offset, limit: PAGE });
      if (sagaSelect.value) params.set('saga', sagaSelect.value);
      if (stateSelect.value) params.set('state', stateSelect.value);
      if (search.value.trim()) params.set('search', search.value.trim());
      instances.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
      const r = await api(`/admin/tenants/${enc(tenant)}/sagas?${params}`);
      if (!current()) return;
      if (!r.ok) return instances.replaceChildren(problem(r, 'instances'));
      const rows = r.json.instances.map((i) => el('tr', { 'data-correlation': i.correlationId },
        el('td', {}, el('a', { class: 'instance-link', href: `/ui/tenants/${enc(tenant)}/sagas/${enc(i.saga)}/${enc(i.correlationId)}` }, i.correlationId)),
        el('td', { text: i.saga }),
        el('td', {}, i.status || '–', i.completed ? badge('completed', 'ok') : null),
        el('td', { class: 'num', text: fmt(i.sequenceNr) }),
        el('td', { class: 'num', text: fmt(i.outboxPending.length) }),
        el('td', { class: 'small', text: i.timers.map((x) => `${x.name} @ ${when(x.dueAt)}`).join(', ') || '–' })));
      instances.replaceChildren(
        table('instances', ['correlation id', 'saga', 'state', 'journal seq', 'outbox', 'timers'], rows, 'no instance matches'),
        pager(r.json.offset, r.json.instances.length, r.json.total, r.json.more, load));
    };
    search.addEventListener('keydown', (e) => { if (e.key === 'Enter') load(0); });
    sagaSelect.addEventListener('change', () => load(0));
    stateSelect.addEventListener('change', () => load(0));

    const [timers, replays] = await Promise.all([api(`/admin/tenants/${enc(tenant)}/timers`), api(`/admin/tenants/${enc(tenant)}/replays`)]);
    render(
      el('h1', {}, 'Tenant ', el('span', { id: 'tenant-id', text: tenant })),
      summary,
      section('Lag and throughput', charts),
      section('Instances', el('div', { class: 'toolbar' }, sagaSelect, stateSelect, search,
        el('button', { type: 'button', id: 'instance-search-go', onclick: () => load(0) }, 'Search')), instances),
      section('Timers', timers.ok
        ? table('timers', ['due', 'saga', 'instance', 'timer'], timers.json.timers.slice(0, 20).map((x) => el('tr', {},
          el('td', { text: when(x.dueAt) }), el('td', { text: x.saga }), el('td', { text: x.correlationId }), el('td', { text: x.name }))), 'no pending timer')
        : problem(timers)),
      section('Replays', el('p', {}, el('a', { href: '/ui/replays?tenant=' + enc(tenant), id: 'tenant-replay' }, 'Replay a saga of this tenant…')),
        replays.ok ? replayTable(replays.json.replays) : problem(replays)));
    await load(0);
  }

  function replayTable(replays) {
    return table('replays', ['replay', 'saga', 'mode', 'stage', 'progress', 'started'], replays.map((r) => el('tr', {},
      el('td', {}, el('a', { href: `/ui/replays?tenant=${enc(r.tenant)}&id=${enc(r.id)}` }, r.id), r.dryRun ? badge('dry run', 'info') : null),
      el('td', { text: r.saga }), el('td', { text: r.mode }), el('td', {}, badge(r.stage, r.failed ? 'bad' : r.done ? 'ok' : 'info')),
      el('td', { text: Math.round(r.progress * 100) + '%' }), el('td', { text: when(r.startedAt) }))), 'no replay recorded yet (previews are not kept)');
  }

  function timelineEntry(e) {
    const head = el('div', { class: 'head' }, el('span', { class: 'seq', text: '#' + e.sequenceNr }), ' ');
    const li = el('li', { class: 'entry ' + e.kind, 'data-kind': e.kind }, head);
    switch (e.kind) {
      case 'applied': {
        head.append(el('strong', { class: 'trigger', text: e.trigger || 'event' }),
          e.streamSeq ? el('span', { class: 'stream-seq' }, ' stream seq ', el('b', { text: e.streamSeq })) : el('span', { class: 'muted' }, ' (timer)'),
          e.dedupeKey ? el('span', { class: 'msg-id' }, e.dedupeKey.startsWith('id:') ? ' Nats-Msg-Id ' : ' dedupe key ', el('code', { text: e.dedupeKey.replace(/^id:/, '') })) : null,
          el('span', { class: 'muted small' }, ' ' + when(e.at)));
        const steps = el('ul', { class: 'steps' });
        steps.append(el('li', { class: 'decision' }, e.stateChanged ? 'decision: state changed' : 'decision: state unchanged'));
        for (const c of e.commands) steps.append(el('li', { class: 'command' }, '→ command ', el('b', { text: c.commandType }), ' ', el('code', { text: c.msgId })));
        for (const t of e.scheduled) steps.append(el('li', { class: 'timer' }, 'timer ', el('b', { text: t.name }), ' due ' + when(t.dueAt)));
        for (const t of e.cancelled) steps.append(el('li', { class: 'timer' }, '× timer cancelled ', el('b', { text: t })));
        if (e.completed) steps.append(el('li', { class: 'completed' }, badge('completed', 'ok')));
        li.append(steps);
        break;
      }
      case 'delivered':
        head.append(el('strong', { text: 'published' }), ' ', ...e.msgIds.flatMap((m) => [el('code', { class: 'msg-id', text: m }), ' ']));
        break;
      case 'outbox_overdue':
      case 'outbox_cleared':
        head.append(el('strong', { text: e.kind === 'outbox_overdue' ? 'outbox overdue (NATS did not confirm in time)' : 'outbox cleared' }), ' ' + when(e.at));
        break;
      case 'reset':
        head.append(el('strong', { text: 'reset by replay ' }), el('code', { text: e.replayId || '' }), ' ' + when(e.at));
        break;
      case 'dedupe_forgotten':
        head.append(el('strong', { text: 'dedupe markers forgotten by replay ' }), el('code', { text: e.replayId || '' }), ' ' + when(e.at));
        break;
      default:
        head.append(el('strong', { text: e.kind || 'event' }));
    }
    return li;
  }

  async function instancePage(tenant, saga, id) {
    setTitle(id);
    const r = await api(`/admin/tenants/${enc(tenant)}/sagas/${enc(saga)}/${enc(id)}?history=1000`);
    const title = el('h1', {}, el('a', { href: '/ui/tenants/' + enc(tenant), text: tenant }), ' / ', saga, ' / ', el('span', { id: 'instance-id', text: id }));
    if (!r.ok) return render(title, problem(r));
    const i = r.json;
    render(title,
      el('dl', { class: 'facts', id: 'instance-summary' },
        el('dt', { text: 'state' }), el('dd', {}, el('span', { id: 'instance-status', text: i.status || '–' }), i.completed ? badge('completed ' + when(i.completedAt), 'ok') : badge('active', 'info')),
        el('dt', { text: 'journal' }), el('dd', { text: `${fmt(i.sequenceNr)} entries, ${fmt(i.dedupeMarkers)} dedupe marker(s)` }),
        el('dt', { text: 'outbox' }), el('dd', { text: i.outboxPending.length ? i.outboxPending.map((o) => `${o.commandType} (${o.msgId})`).join(', ') : 'empty: every command published' }),
        el('dt', { text: 'timers' }), el('dd', { text: i.timers.length ? i.timers.map((t) => `${t.name} due ${when(t.dueAt)}`).join(', ') : 'none' })),
      el('div', { class: 'columns' },
        section('Timeline' + (i.historyTruncated ? ` (last ${i.history.length} of ${i.historyTotal})` : ''),
          el('ol', { id: 'timeline', class: 'timeline' }, i.history.map(timelineEntry))),
        section('Current state', el('pre', { id: 'state-json', class: 'json', text: JSON.stringify(i.state, null, 2) }))));
  }

  async function dlqPage() {
    setTitle('Dead letters');
    const q = query();
    const fields = ['tenant', 'saga', 'kind'].map((name) => el('input', { id: 'dlq-' + name, name, placeholder: name, value: q.get(name) || '' }));
    const list = el('div', { id: 'dlq-list' });
    const message = el('p', { id: 'dlq-message', class: 'notice', hidden: true });
    const say = (text, bad) => { message.textContent = text; message.className = bad ? 'error' : 'notice'; message.hidden = false; };
    const filter = () => Object.fromEntries(fields.filter((f) => f.value.trim()).map((f) => [f.name, f.value.trim()]));
    let from = [];
    const ticket = latestOnly();
    const load = async (fromSeq) => {
      const current = ticket();
      const params = new URLSearchParams({ ...filter(), limit: PAGE });
      if (fromSeq) params.set('from_seq', fromSeq);
      const [totals, r] = await Promise.all([api('/admin/dlq'), api('/admin/dlq/events?' + params)]);
      if (!current()) return;
      if (!r.ok) return list.replaceChildren(problem(r));
      const rows = r.json.events.map((d) => {
        const detail = el('tr', { class: 'detail', hidden: true }, el('td', { colspan: 7 }));
        const row = el('tr', { 'data-seq': d.seq },
          el('td', {}, el('button', { type: 'button', class: 'show', onclick: () => show(d.seq, detail) }, '#' + d.seq)),
          el('td', {}, d.tenant ? tenantLink(d.tenant) : '–'), el('td', { text: d.saga || '–' }), el('td', {}, badge(d.kind || '?', 'warn')),
          el('td', { class: 'reason', text: d.reason || '' }), el('td', { class: 'small', text: when(d.parkedAt) }),
          el('td', {}, el('code', { class: 'preview', text: d.preview || '' })));
        return [row, detail];
      });
      list.replaceChildren(
        el('p', { class: 'muted' }, totals.ok ? `${fmt(totals.json.total)} parked in all` : ''),
        table('dlq-events', ['seq', 'tenant', 'saga', 'kind', 'reason', 'parked', 'payload'], rows.flat(), 'nothing parked here'),
        el('div', { class: 'pager' },
          el('button', { type: 'button', class: 'prev', disabled: !from.length, onclick: () => load(from.pop()) }, '‹ previous'),
          el('button', { type: 'button', class: 'next', disabled: !r.json.next, onclick: () => { from.push(fromSeq || 0); load(r.json.next); } }, 'next ›')));
    };
    const act = async (verb, seq) => {
      if (!window.confirm(verb === 'redrive'
        ? `Redrive dead letter #${seq}? It is published to its origin subject and removed from the dead-letter stream.`
        : `Purge dead letter #${seq}? It is deleted for good.`)) return;
      const r = await api('/admin/dlq/' + verb, { method: 'POST', body: { seq } });
      if (!r.ok) return say(errorOf(r), true);
      const c = r.json.counts || {};
      say(verb === 'redrive' ? `#${seq}: redriven (${JSON.stringify(c)})` : `#${seq}: purged`);
      await load();
    };
    const show = async (seq, detail) => {
      if (!detail.hidden) { detail.hidden = true; return; }
      const r = await api('/admin/dlq/events/' + seq);
      const cell = detail.firstChild;
      if (!r.ok) { cell.replaceChildren(problem(r)); detail.hidden = false; return; }
      const d = r.json;
      cell.replaceChildren(
        el('dl', { class: 'facts' },
          el('dt', { text: 'origin' }), el('dd', { text: `${d.originSubject} seq ${d.originSeq} (Nats-Msg-Id ${d.originMsgId || '–'})` }),
          el('dt', { text: 'parked' }), el('dd', { text: `${when(d.parkedAt)} by ${d.node || '?'}: ${d.reason}` }),
          el('dt', { text: 'redrive' }), el('dd', { text: d.redrive.possible ? 'publishes to ' + d.redrive.subject : d.redrive.detail || 'not possible' })),
        el('pre', { class: 'json payload', text: d.payload ?? ('(binary, base64) ' + d.payloadBase64) }),
        operator ? el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'redrive primary', disabled: !d.redrive.possible, onclick: () => act('redrive', seq) }, 'Redrive'),
          el('button', { type: 'button', class: 'purge danger', onclick: () => act('purge', seq) }, 'Purge'))
          : el('p', { class: 'muted' }, 'Redrive and purge need the operator token.'));
      detail.hidden = false;
    };
    render(el('h1', { text: 'Dead letters' }),
      el('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); from = []; load(); } }, fields, el('button', { type: 'submit', id: 'dlq-filter' }, 'Filter')),
      message, list);
    await load();
  }

  async function replaysPage() {
    setTitle('Replays');
    const q = query();
    const tenant = el('input', { id: 'replay-tenant', placeholder: 'tenant', value: q.get('tenant') || '', required: true });
    const saga = el('input', { id: 'replay-saga', placeholder: 'saga', value: q.get('saga') || '', list: 'replay-sagas', required: true });
    const sagaList = el('datalist', { id: 'replay-sagas' });
    const mode = el('select', { id: 'replay-mode' }, ['checkpoint_only', 'checkpoint_and_dedupe', 'full_reset'].map((m) => el('option', { value: m }, m)));
    const fromSeq = el('input', { id: 'replay-from', type: 'number', min: 1, placeholder: 'from stream seq (optional)' });
    const status = el('div', { id: 'replay-status' });
    const history = el('div', { id: 'replay-history' });
    const start = el('button', { type: 'button', id: 'replay-start', class: 'danger', hidden: true }, 'Start this replay');
    let previewed = null;
    const params = () => ({ tenant_id: tenant.value.trim(), saga_name: saga.value.trim(), mode: mode.value, ...(fromSeq.value ? { from_seq: Number(fromSeq.value) } : {}) });
    const same = (a, b) => a && b && JSON.stringify(a) === JSON.stringify(b);

    const loadTenant = async () => {
      const t = tenant.value.trim();
      if (!t) return;
      const [row, replays] = await Promise.all([api('/admin/tenants/' + enc(t)), api(`/admin/tenants/${enc(t)}/replays`)]);
      if (row.ok) sagaList.replaceChildren(...Object.keys(row.json.lag).map((s) => el('option', { value: s })));
      history.replaceChildren(el('h2', { text: 'Replays of ' + t }), replays.ok ? replayTable(replays.json.replays) : problem(replays));
    };

    const follow = async (id) => {
      for (;;) {
        const r = await api('/admin/replay/' + enc(id));
        if (!r.ok) { status.replaceChildren(problem(r, id)); return null; }
        status.replaceChildren(replayView(r.json));
        if (r.json.done) return r.json;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };

    const run = async (dryRun) => {
      const p = params();
      if (!p.tenant_id || !p.saga_name) return status.replaceChildren(el('p', { class: 'error' }, 'Name the tenant and the saga.'));
      if (!dryRun && !window.confirm(`Start the replay of ${p.saga_name} for ${p.tenant_id} (${p.mode})? The preview above shows what it re-emits.`)) return;
      start.hidden = true;
      const r = await api('/admin/replay', { method: 'POST', body: { ...p, dry_run: dryRun } });
      if (!r.ok) return status.replaceChildren(problem(r, dryRun ? 'preview' : 'replay'));
      history.dataset.pending = '1';
      const done = await follow(r.json.id);
      await loadTenant();
      if (dryRun && done && !done.failed && operator) {
        previewed = p;
        start.hidden = false;
      }
    };
    start.addEventListener('click', () => { if (same(previewed, params())) run(false); else { start.hidden = true; run(true); } });
    for (const input of [tenant, saga, mode, fromSeq]) input.addEventListener('change', () => { start.hidden = !same(previewed, params()); });
    tenant.addEventListener('change', loadTenant);

    render(el('h1', { text: 'Replays' }),
      el('p', { class: 'muted' }, 'A replay re-runs a saga of a tenant over its events from the checkpoint (or a stream sequence). ' +
        'Preview it first: the dry run says which commands would be re-emitted and which events the dedupe markers would suppress, and changes nothing.'),
      operator
        ? el('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); run(true); } }, tenant, saga, sagaList, mode, fromSeq,
          el('button', { type: 'submit', id: 'replay-preview', class: 'primary' }, 'Preview (dry run)'), start)
        : el('p', { class: 'muted' }, 'Replays and their previews need the operator token.'),
      status, history);
    if (q.get('id')) await follow(q.get('id'));
    await loadTenant();
  }

  function replayView(r) {
    const bar = el('div', { class: 'bar' }, el('span', {}));
    bar.firstChild.style.width = Math.round(r.progress * 100) + '%';
    const c = r.counts || {};
    const parts = [
      el('h2', {}, r.dryRun ? 'Preview (dry run) ' : 'Replay ', el('code', { text: r.id })),
      el('p', {}, badge(r.stage, r.failed ? 'bad' : r.done ? 'ok' : 'info'), ` ${r.tenant} / ${r.saga}, ${r.mode}, stream seq ${fmt(r.fromSeq)} → ${fmt(r.targetSeq)} on ${r.node}`),
      bar,
      el('p', { id: 'replay-counts', class: 'small' },
        `events ${fmt(c.events)} · applied ${fmt(c.applied)} · duplicates ${fmt(c.duplicates)} · ignored (completed) ${fmt(c.ignoredCompleted)} · dead-lettered ${fmt(c.deadLettered)} · commands ${fmt(c.commands)}`),
      r.detail ? el('p', { class: r.failed ? 'error' : 'muted', text: r.detail }) : null,
    ];
    if (r.report) {
      const rep = r.report;
      parts.push(
        el('h3', { text: `Commands it would re-emit (${rep.commandsReEmitted.length}${rep.truncated ? '+' : ''})` }),
        table('would-emit', ['stream seq', 'event', 'instance', 'command'], rep.commandsReEmitted.map((x) => el('tr', {},
          el('td', { text: x.streamSeq }), el('td', { text: x.eventType }), el('td', { text: x.correlationId }), el('td', { text: x.commandType }))), 'none'),
        el('h3', { text: `Events the dedupe markers would suppress (${rep.suppressedByDedupe.length})` }),
        table('would-suppress', ['stream seq', 'event', 'instance', 'why'], rep.suppressedByDedupe.map((x) => el('tr', {},
          el('td', { text: x.streamSeq }), el('td', { text: x.eventType }), el('td', { text: x.correlationId }), el('td', { text: x.detail || '' }))), 'none'),
        el('p', { class: 'muted small', text: rep.note || '' }));
    }
    return el('div', { class: 'replay', 'data-stage': r.stage, 'data-done': r.done ? 'true' : 'false' }, parts);
  }

  async function drainPage() {
    setTitle('Drain');
    const receipts = el('div', { id: 'drain-receipts' });
    const show = (j) => receipts.replaceChildren(
      el('p', {}, j.draining ? badge(j.complete ? 'drained' : 'draining', j.complete ? 'ok' : 'warn') : badge('not draining', 'info'),
        j.incomplete.length ? ' still handing off: ' + j.incomplete.join(', ') : ''),
      table('drain-tenants', ['tenant', 'complete', 'last acked', 'outbox pending', 'timers pending', 'custody'], j.tenants.map((t) => el('tr', {},
        el('td', { text: t.tenant }), el('td', {}, t.complete ? badge('yes', 'ok') : badge('no', 'warn')), el('td', { text: fmt(t.lastAcked) }),
        el('td', { text: fmt(t.outboxPending) }), el('td', { text: fmt(t.timersPending) }), el('td', { class: 'small', text: typeof t.custody === 'string' ? t.custody : JSON.stringify(t.custody) }))),
      'no receipt yet: a drain hands off every tenant of this node and records a receipt for each'));
    const poll = async () => {
      for (;;) {
        const r = await api('/admin/drain');
        if (!r.ok) {
          receipts.append(el('p', { class: 'notice' }, r.status === 0 ? 'The node has stopped: the drain is over.' : errorOf(r)));
          return;
        }
        show(r.json);
        if (!r.json.draining) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    const drain = async () => {
      if (!window.confirm(`Drain node ${body.dataset.node}? Its tenants are handed off to other nodes and the node stops.`)) return;
      const r = await api('/admin/drain', { method: 'POST' });
      if (!r.ok) return receipts.replaceChildren(problem(r));
      await poll();
    };
    render(el('h1', {}, 'Drain node ', el('span', { text: body.dataset.node })),
      el('p', { class: 'muted' }, 'A drain stops this node gracefully: each tenant acks what it applied, publishes its outbox, hands its custody over and writes a receipt.'),
      operator ? el('button', { type: 'button', id: 'drain-start', class: 'danger', onclick: drain }, 'Drain this node') : el('p', { class: 'muted' }, 'Draining needs the operator token.'),
      receipts);
    await poll();
  }

  // --- routing -----------------------------------------------------------------------------------------------------------

  const segments = location.pathname.replace(/^\/ui\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  let page;
  let nav = 'cluster';
  if (segments.length === 0 || segments[0] === 'cluster') page = clusterPage();
  else if (segments[0] === 'tenants' && segments.length === 2) page = tenantPage(segments[1]);
  else if (segments[0] === 'tenants' && segments[2] === 'sagas' && segments.length >= 5) page = instancePage(segments[1], segments[3], segments.slice(4).join('/'));
  else if (segments[0] === 'dlq') { nav = 'dlq'; page = dlqPage(); }
  else if (segments[0] === 'replays') { nav = 'replays'; page = replaysPage(); }
  else if (segments[0] === 'drain') { nav = 'drain'; page = drainPage(); }
  else page = Promise.resolve(render(el('h1', { text: 'Not found' }), el('p', {}, 'No console page here. ', el('a', { href: '/ui/' }, 'The cluster.'))));
  document.querySelector(`nav a[data-nav="${nav}"]`)?.classList.add('active');
  readiness();
  setInterval(readiness, 5000);
  page.catch((e) => render(el('p', { class: 'error' }, 'The console failed: ' + e.message)))
    .finally(() => body.setAttribute('data-loaded', 'true'));
})();
