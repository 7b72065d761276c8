// Events page (SPEC section 6): what the firewall, the rate limit and the
// IP deny lists blocked or logged, newest first, with filters; refreshes
// every 5 seconds while it is open.
import { api } from './api.js';
import { h, replace, uid, notify, pageHead, toDate } from './dom.js';
import { actionBadge, loadApplications, loadRules } from './waf.js';

const KINDS = {
	waf: ['Firewall rule', 'blue'],
	rate_limit: ['Rate limit', 'orange'],
	ip_deny: ['IP deny list', 'grey'],
};

const LIMITS = [25, 50, 100, 200, 500, 1000];
const REFRESH_MS = 5000;

// Kept while the console is open, so coming back keeps the filters.
const filters = { application_id: '', rule: '', since: '', limit: '100', live: true };

// "2026-11-30 18:00:05 UTC": events need the seconds.
function formatTime(t) {
	const d = toDate(t);
	return d ? `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '—';
}

// The since filter is typed in UTC (like the table); the API takes RFC 3339.
function sinceParam(v) {
	if (!v)
		return '';
	return v.length === 16 ? `${v}:00Z` : `${v}Z`;
}

function query() {
	const q = new URLSearchParams();
	if (filters.application_id)
		q.set('application_id', filters.application_id);
	if (filters.rule)
		q.set('rule', filters.rule);
	if (filters.since)
		q.set('since', sinceParam(filters.since));
	q.set('limit', filters.limit || '100');
	return `/events?${q}`;
}

function kindBadge(kind) {
	const [label, colour] = KINDS[kind] || [kind || '—', 'grey'];
	return h('span', { class: `badge badge-plain badge-${colour}`, 'data-kind': kind }, label);
}

export async function renderEvents(main) {
	const [apps, rules] = await Promise.all([loadApplications(),
		loadRules().catch(() => [])]);
	const appById = new Map(apps.map((a) => [a.id, a]));
	const ruleById = new Map(rules.map((r) => [r.id, r]));

	const appSel = h('select', { id: 'ev-app', 'data-filter': 'application_id' },
		h('option', { value: '' }, 'All applications'),
		apps.map((a) => h('option', { value: String(a.id) }, a.name)));
	const ruleSel = h('select', { id: 'ev-rule', 'data-filter': 'rule' },
		h('option', { value: '' }, 'Any rule or kind'),
		h('option', { value: 'waf' }, 'Any firewall rule'),
		h('option', { value: 'rate_limit' }, 'Rate limit'),
		h('option', { value: 'ip_deny' }, 'IP deny list'),
		h('optgroup', { label: 'Custom rules' }, rules.filter((r) => !r.preset).map((r) =>
			h('option', { value: String(r.id) }, `${r.id} · ${r.description || ''}`))),
		h('optgroup', { label: 'Preset rules' }, rules.filter((r) => r.preset).map((r) =>
			h('option', { value: String(r.id) }, `${r.id} · ${r.description || ''}`))));
	// A rule id typed in by hand (a deleted rule, say) stays selectable.
	if (filters.rule && ![...ruleSel.options].some((o) => o.value === filters.rule))
		ruleSel.append(h('option', { value: filters.rule }, `Rule ${filters.rule}`));
	const since = h('input', { type: 'datetime-local', id: 'ev-since', step: '1',
		'data-filter': 'since', 'aria-describedby': 'ev-since-hint' });
	const limit = h('select', { id: 'ev-limit', 'data-filter': 'limit' },
		LIMITS.map((n) => h('option', { value: String(n) }, String(n))));
	appSel.value = filters.application_id;
	ruleSel.value = filters.rule;
	since.value = filters.since;
	limit.value = filters.limit;
	const refreshBtn = h('button', { type: 'button', class: 'btn' }, 'Refresh');
	const live = h('input', { type: 'checkbox', id: 'ev-live', checked: filters.live });
	const clearBtn = h('button', { type: 'button', class: 'btn btn-small' },
		'Clear filters');
	const updated = h('span', { class: 'muted small', id: 'ev-updated' });
	const table = h('div', { id: 'event-table' });

	const filterBox = (label, control, extra) => h('div', { class: 'filter-field' },
		h('label', { for: control.id, class: 'small-label' }, label), control, extra || null);
	replace(main,
		pageHead('Events', refreshBtn),
		h('p', { class: 'muted page-intro' }, 'Requests the firewall, the rate limits and the IP ' +
			'deny lists blocked or logged, newest first. Times are UTC.'),
		h('form', { class: 'filters', 'aria-label': 'Event filters', novalidate: true,
			onsubmit: (ev) => ev.preventDefault() },
		filterBox('Application', appSel),
		filterBox('Rule or kind', ruleSel),
		filterBox('Since (UTC)', since,
			h('span', { class: 'visually-hidden', id: 'ev-since-hint' }, 'Empty: no limit.')),
		filterBox('Show at most', limit),
		h('div', { class: 'filter-tail' }, clearBtn)),
		h('div', { class: 'toolbar events-bar' },
			h('div', { class: 'check-inline' }, live,
				h('label', { for: 'ev-live' }, 'Refresh every 5 seconds')),
			updated),
		table);

	let last = null; // the JSON last drawn: redraw only when it changes
	let seen = null; // the ids drawn so far: new rows flash
	let running = null;
	let failedOnce = false;
	const draw = async (force) => {
		if (running)
			return running;
		running = (async () => {
			const data = await api('GET', query());
			const events = (data && data.events) || [];
			const json = JSON.stringify(events);
			if (force || json !== last) {
				const fresh = new Set(seen ? events.map((e) => e.id).filter((id) => !seen.has(id)) : []);
				seen = new Set([...(seen || []), ...events.map((e) => e.id)]);
				last = json;
				drawTable(table, events, appById, ruleById, fresh);
			}
			updated.textContent = `Updated ${formatTime(new Date().toISOString()).slice(11)}` +
				` · ${events.length} event${events.length === 1 ? '' : 's'}` +
				(events.length >= Number(filters.limit) ? ' (the limit)' : '');
			failedOnce = false;
		})().finally(() => { running = null; });
		return running;
	};
	const changed = () => {
		filters.application_id = appSel.value;
		filters.rule = ruleSel.value;
		filters.since = since.value;
		filters.limit = limit.value;
		draw(true).catch((e) => notify(e.message, 'error'));
	};
	for (const c of [appSel, ruleSel, since, limit])
		c.addEventListener('change', changed);
	clearBtn.addEventListener('click', () => {
		appSel.value = '';
		ruleSel.value = '';
		since.value = '';
		limit.value = '100';
		changed();
		appSel.focus();
	});
	refreshBtn.addEventListener('click', () => draw(true).catch((e) => notify(e.message, 'error')));
	live.addEventListener('change', () => { filters.live = live.checked; });
	// Rule links in the table filter by that rule.
	table.addEventListener('click', (ev) => {
		const a = ev.target.closest('[data-filter-rule]');
		if (!a)
			return;
		ev.preventDefault();
		const v = a.getAttribute('data-filter-rule');
		if (![...ruleSel.options].some((o) => o.value === v))
			ruleSel.append(h('option', { value: v }, `Rule ${v}`));
		ruleSel.value = v;
		changed();
	});

	await draw(true);
	const timer = setInterval(() => {
		if (!filters.live || document.hidden)
			return;
		draw(false).catch((e) => {
			// Say it once, not every 5 seconds.
			if (!failedOnce && e.status !== 401)
				notify(`Events could not be refreshed: ${e.message}`, 'error');
			failedOnce = true;
		});
	}, REFRESH_MS);
	return () => clearInterval(timer);
}

function anyFilter() {
	return Boolean(filters.application_id || filters.rule || filters.since);
}

function ruleCell(e, ruleById) {
	if (e.rule_id === null || e.rule_id === undefined) {
		return e.kind === 'waf' ? '—' :
			h('span', { class: 'muted' }, (KINDS[e.kind] || [e.kind])[0]);
	}
	const r = ruleById.get(e.rule_id);
	return h('span', { class: 'rule-ref' },
		h('a', { href: '#/events', 'data-filter-rule': String(e.rule_id),
			title: `Show only the events of rule ${e.rule_id}`, class: 'mono' }, String(e.rule_id)),
		r && r.description ? h('span', { class: 'rule-desc' }, r.description) : null);
}

function drawTable(box, events, appById, ruleById, fresh) {
	if (events.length === 0) {
		replace(box, h('div', { class: 'empty' },
			h('p', { class: 'empty-title' }, anyFilter() ? 'No events match these filters' :
				'No events yet'),
			h('p', { class: 'muted' }, anyFilter() ?
				'Change or clear the filters to see more.' :
				'When a request is blocked or logged by a firewall rule, a rate limit or an IP ' +
				'deny list, it shows up here within seconds. Turn the firewall on in an ' +
				'application\'s editor (Detect or Block).')));
		return;
	}
	const cols = ['Time', 'Application', 'Client IP', 'Kind', 'Rule', 'Action', 'Method', 'Path',
		'Target', 'Excerpt'];
	replace(box, h('div', { class: 'table-wrap' }, h('table', { class: 'table table-events responsive' },
		h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
		h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', {}, events.map((e) => {
			const app = appById.get(e.application_id);
			const timeId = uid('ev-time');
			return h('tr', { 'data-id': e.id, 'data-rule': e.rule_id === null ? '' : e.rule_id,
				'data-kind': e.kind, class: fresh.has(e.id) ? 'flash' : null },
			h('th', { scope: 'row', 'data-label': 'Time', 'data-col': 'time', id: timeId },
				h('time', { datetime: e.time || '' }, formatTime(e.time)),
				h('span', { class: 'event-id mono', title: 'Event id (shown on the 403 page)' },
					e.id || '')),
			h('td', { 'data-label': 'Application', 'data-col': 'application' },
				app ? app.name : (e.application_id ? `#${e.application_id}` : '—')),
			h('td', { 'data-label': 'Client IP', 'data-col': 'client_ip' },
				h('span', { class: 'mono' }, e.client_ip || '—')),
			h('td', { 'data-label': 'Kind', 'data-col': 'kind' }, kindBadge(e.kind)),
			h('td', { 'data-label': 'Rule', 'data-col': 'rule' }, ruleCell(e, ruleById)),
			h('td', { 'data-label': 'Action', 'data-col': 'action' }, actionBadge(e.action)),
			h('td', { 'data-label': 'Method', 'data-col': 'method' },
				h('span', { class: 'mono' }, e.method || '—')),
			h('td', { 'data-label': 'Path', 'data-col': 'path' },
				h('span', { class: 'mono wrap' }, e.path || '—')),
			h('td', { 'data-label': 'Target', 'data-col': 'target' },
				e.target ? h('code', { class: 'wrap' }, e.target) : '—'),
			h('td', { 'data-label': 'Excerpt', 'data-col': 'excerpt', class: 'cell-excerpt' },
				e.excerpt ? h('code', { class: 'excerpt' }, e.excerpt) : '—'));
		})))));
}
