// Firewall page (SPEC section 6): the rule list (presets and custom
// rules, enable/disable, filter), the rule editor in a dialog and the
// "test a request" box, on the page and in the editor.
import { api } from './api.js';
import {
	h, replace, uid, notify, openDialog, confirmDialog, field, setFieldError, clearErrors,
	formError, showFormError, busy, pageHead, liveClear,
} from './dom.js';

export const TARGETS = [
	['args', 'Arguments', 'names and values of the query and of form or JSON bodies'],
	['method', 'Method'],
	['path', 'Path'],
	['query', 'Query string'],
	['header', 'Header…'],
	['headers', 'All headers'],
	['cookies', 'Cookies'],
	['user_agent', 'User-Agent'],
	['client_ip', 'Client IP'],
	['body', 'Body'],
];

// [value, label, hint, example]
export const OPERATORS = [
	['regex', 'matches regex', 'A PCRE2 pattern, such as ', '(?i)union\\s+select'],
	['not_regex', 'does not match regex', 'A PCRE2 pattern, such as ', '^(GET|POST|HEAD)$'],
	['equals', 'equals', 'The exact value.'],
	['contains', 'contains', 'A substring, such as ', '/wp-admin'],
	['length_gt', 'is longer than', 'A number of bytes, such as ', '2048'],
	['ip_in', 'is an IP in', 'CIDRs separated by commas: ', '10.0.0.0/8, 2001:db8::/32'],
	['detect_sqli', 'looks like SQL injection', 'No value: a built-in detector.'],
	['detect_xss', 'looks like XSS', 'No value: a built-in detector.'],
];

// The order in which transforms are applied (and sent).
export const TRANSFORMS = [
	['url_decode', 'URL-decode'],
	['html_entity_decode', 'HTML entities'],
	['lowercase', 'Lowercase'],
	['compress_whitespace', 'Compress spaces'],
	['remove_comments', 'Remove comments'],
];

const ACTIONS = [
	['block', 'Block', 'Answer 403 and record an event.'],
	['log', 'Log', 'Let the request through and record an event.'],
	['allow', 'Allow', 'Let the request through; later rules are not checked.'],
];

const ACTION_BADGE = { block: ['Block', 'red'], log: ['Log', 'amber'], allow: ['Allow', 'green'] };

const VERDICTS = {
	block: ['Blocked', 'red', 'A rule with the action Block matches: the gateway answers 403.'],
	log: ['Logged', 'amber', 'A rule with the action Log matches: the request goes through ' +
		'and an event is recorded.'],
	allow: ['Allowed', 'green', 'An Allow rule matches: the request goes through and later ' +
		'rules are not checked.'],
	pass: ['Passes', 'green', 'No rule blocks this request.'],
};

const MODES = { off: 'Off', detect: 'Detect', block: 'Block' };

// A badge for a rule or event action ("block", "log", "allow").
export function actionBadge(action) {
	const [label, colour] = ACTION_BADGE[action] || [action || '—', 'grey'];
	return h('span', { class: `badge badge-${colour}`, 'data-action': action }, label);
}

export function modeBadge(mode) {
	const m = mode || 'off';
	const colour = { off: 'grey', detect: 'blue', block: 'green' }[m] || 'grey';
	return h('span', { class: `badge badge-${colour}`, 'data-waf': m }, MODES[m] || m);
}

export async function loadApplications() {
	const data = await api('GET', '/applications');
	return (data && data.applications) || [];
}

export async function loadRules() {
	const data = await api('GET', '/waf/rules');
	return ((data && data.rules) || []).slice().sort((a, b) => a.id - b.id);
}

const view = { rules: [], apps: [], show: 'all', filter: '', flash: null };

export async function renderFirewall(main) {
	[view.rules, view.apps] = await Promise.all([loadRules(), loadApplications()]);
	const add = h('button', { type: 'button', class: 'btn btn-primary',
		onclick: () => openRuleEditor(null) }, 'Add rule');
	const filter = h('input', {
		type: 'search', id: 'rule-filter', class: 'filter-input', value: view.filter,
		placeholder: 'ID, description, application…', autocomplete: 'off',
	});
	filter.addEventListener('input', () => {
		view.filter = filter.value;
		drawRules();
	});
	// With the presets the test box is far down: a way to it.
	const toTest = h('button', { type: 'button', class: 'btn', onclick: () => {
		const box = document.getElementById('test-request-page');
		box.scrollIntoView({ block: 'center' });
		box.focus({ preventScroll: true });
	} }, 'Test a request');
	replace(main,
		pageHead('Firewall', toTest, add),
		h('p', { class: 'muted page-intro' }, 'The rules apply to the applications whose firewall ' +
			'is set to Detect (log only) or Block in the application editor. Preset rules can be ' +
			'turned off, not changed; add your own rules beside them.'),
		h('div', { class: 'toolbar' },
			showPicker(),
			h('div', { class: 'toolbar-filter' },
				h('label', { for: 'rule-filter', class: 'toolbar-label' }, 'Filter'), filter),
			h('p', { class: 'toolbar-count muted', id: 'rule-count', 'aria-live': 'polite' })),
		h('div', { id: 'rule-table', class: 'table-wrap' }),
		h('section', { class: 'card test-card', 'aria-labelledby': 'test-title' },
			h('h2', { id: 'test-title' }, 'Test a request'),
			h('p', { class: 'muted' }, 'Runs a raw HTTP request through the saved rules of an ' +
				'application and shows what the firewall would do. Nothing is sent to the backends.'),
			testBox({ apps: view.apps, id: 'page' })));
	drawRules();
}

function showPicker() {
	const name = uid('show');
	const choices = [['all', 'All rules'], ['preset', 'Presets'], ['custom', 'Custom']];
	return h('fieldset', { class: 'segmented segmented-compact' },
		h('legend', { class: 'visually-hidden' }, 'Show'),
		choices.map(([v, label]) => {
			const id = `${name}-${v}`;
			return h('div', { class: 'segment' },
				h('input', { type: 'radio', name, id, value: v, checked: view.show === v,
					'data-show': v, onchange: () => { view.show = v; drawRules(); } }),
				h('label', { for: id }, label));
		}));
}

function appNames(ids) {
	if (!ids || ids.length === 0)
		return ['All'];
	const byId = new Map(view.apps.map((a) => [a.id, a.name]));
	return ids.map((id) => byId.get(id) || `#${id}`);
}

function ruleMatches(r, q) {
	if (view.show === 'preset' && !r.preset)
		return false;
	if (view.show === 'custom' && r.preset)
		return false;
	if (!q)
		return true;
	const hay = [String(r.id), r.description, r.action, r.preset ? 'preset' : 'custom',
		...appNames(r.applications)].join(' ').toLowerCase();
	return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

function drawRules() {
	const box = document.getElementById('rule-table');
	if (!box)
		return;
	const shown = view.rules.filter((r) => ruleMatches(r, view.filter));
	const custom = view.rules.filter((r) => !r.preset).length;
	drawCount();
	if (view.rules.length === 0) {
		replace(box, h('div', { class: 'empty' },
			h('p', { class: 'empty-title' }, 'No rules'),
			h('p', { class: 'muted' }, 'Add a rule to block or log the requests it matches.')));
		return;
	}
	const rows = shown.map(ruleRow);
	if (shown.length === 0) {
		rows.push(h('tr', {}, h('td', { colspan: '7', class: 'empty-row' },
			view.show === 'custom' && custom === 0 ?
				'No custom rules yet: "Add rule" makes one.' : 'No rule matches the filter.')));
	}
	replace(box, h('table', { class: 'table table-rules responsive' },
		h('caption', { class: 'visually-hidden' }, 'Firewall rules'),
		h('thead', {}, h('tr', {},
			['ID', 'Description', 'Action', 'Applications', 'Type', 'Enabled']
				.map((t) => h('th', { scope: 'col' }, t)),
			h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
		h('tbody', {}, rows)));
	view.flash = null;
}

function ruleRow(r) {
	const toggle = h('input', {
		type: 'checkbox', role: 'switch', class: 'switch', checked: Boolean(r.enabled),
		'aria-label': `Rule ${r.id} enabled`, 'data-toggle': r.id,
	});
	const state = h('span', { class: 'switch-text', 'aria-hidden': 'true' }, r.enabled ? 'On' : 'Off');
	toggle.addEventListener('change', () => setEnabled(r, toggle, state));
	return h('tr', {
		'data-id': r.id, 'data-preset': r.preset ? 'true' : 'false',
		class: `${r.enabled ? '' : 'is-off'} ${view.flash === r.id ? 'flash' : ''}`,
	},
	h('td', { 'data-label': 'ID', 'data-col': 'id' }, h('span', { class: 'mono' }, String(r.id))),
	h('th', { scope: 'row', 'data-label': 'Description', 'data-col': 'description' },
		r.description || h('span', { class: 'muted' }, '(no description)')),
	h('td', { 'data-label': 'Action', 'data-col': 'action' }, actionBadge(r.action)),
	h('td', { 'data-label': 'Applications', 'data-col': 'applications' },
		appNames(r.applications).join(', ')),
	h('td', { 'data-label': 'Type', 'data-col': 'type' }, r.preset ?
		h('span', { class: 'badge badge-blue badge-plain' }, 'Preset') :
		h('span', { class: 'badge badge-grey badge-plain' }, 'Custom')),
	h('td', { 'data-label': 'Enabled', 'data-col': 'enabled' },
		h('label', { class: 'switch-label' }, toggle, state)),
	h('td', { 'data-label': 'Actions', class: 'actions' },
		h('button', { type: 'button', class: 'btn btn-small', onclick: () => openRuleEditor(r),
			'aria-label': `${r.preset ? 'View' : 'Edit'} rule ${r.id}` }, r.preset ? 'View' : 'Edit'),
		r.preset ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet',
			onclick: () => removeRule(r), 'aria-label': `Delete rule ${r.id}` }, 'Delete')));
}

// The body of a PUT that changes only whether r is enabled: presets take
// {"enabled"} alone, custom rules the whole rule.
function enabledBody(r, enabled) {
	if (r.preset)
		return { enabled };
	return {
		description: r.description || '', enabled, applications: r.applications || [],
		conditions: r.conditions || [], action: r.action,
	};
}

async function setEnabled(r, toggle, state) {
	const want = toggle.checked;
	toggle.disabled = true;
	try {
		const saved = await api('PUT', `/waf/rules/${r.id}`, enabledBody(r, want));
		Object.assign(r, saved && typeof saved === 'object' ? saved : { enabled: want });
		state.textContent = r.enabled ? 'On' : 'Off';
		toggle.checked = Boolean(r.enabled);
		toggle.closest('tr').classList.toggle('is-off', !r.enabled);
		notify(`Rule ${r.id} ${r.enabled ? 'enabled' : 'disabled'}.`);
		drawCount();
	} catch (err) {
		toggle.checked = !want;
		notify(err.message, 'error');
	} finally {
		toggle.disabled = false;
		toggle.focus();
	}
}

function drawCount() {
	const count = document.getElementById('rule-count');
	if (!count)
		return;
	const shown = view.rules.filter((x) => ruleMatches(x, view.filter)).length;
	const presets = view.rules.filter((x) => x.preset).length;
	const off = view.rules.filter((x) => !x.enabled).length;
	count.textContent = `${shown} shown · ${presets} preset, ${view.rules.length - presets} custom` +
		(off ? `, ${off} off` : '');
}

async function refreshRules() {
	view.rules = await loadRules();
	drawRules();
}

async function removeRule(r) {
	const yes = await confirmDialog({
		title: 'Delete rule?',
		message: `Rule ${r.id} (${r.description || 'no description'}) is deleted and stops ` +
			'matching within a second. Its past events stay.',
		confirmLabel: 'Delete rule',
	});
	if (!yes)
		return;
	try {
		await api('DELETE', `/waf/rules/${r.id}`);
		notify(`Rule ${r.id} deleted.`);
		await refreshRules();
		const heading = document.querySelector('main h1');
		if (heading)
			heading.focus();
	} catch (err) {
		notify(err.message, 'error');
	}
}

// ---- the rule editor

function options(list, selected) {
	return list.map(([v, label]) => h('option', { value: v, selected: v === selected }, label));
}

function splitTarget(target) {
	const t = target || 'args';
	if (t.toLowerCase().startsWith('header:'))
		return ['header', t.slice(7)];
	return [t, ''];
}

// One condition: target (and header name), operator, value, transforms.
function conditionRow(list, c, readOnly) {
	const [target, headerName] = splitTarget(c.target);
	const known = TARGETS.some(([v]) => v === target);
	const targetSel = h('select', { 'data-role': 'target' },
		options(known ? TARGETS : [...TARGETS, [target, target]], target));
	targetSel.value = target;
	const header = h('input', { type: 'text', class: 'mono header-name', value: headerName,
		placeholder: 'X-Api-Key', spellcheck: 'false', autocomplete: 'off', 'data-role': 'header' });
	const knownOp = OPERATORS.some(([v]) => v === c.operator);
	const opSel = h('select', { 'data-role': 'operator' },
		options(knownOp ? OPERATORS : [...OPERATORS, [c.operator, c.operator]], c.operator || 'regex'));
	opSel.value = c.operator || 'regex';
	const value = h('input', { type: 'text', class: 'mono', value: c.value || '',
		spellcheck: 'false', autocomplete: 'off', autocapitalize: 'none', 'data-role': 'value' });
	const valueHint = h('p', { class: 'hint' });
	const have = new Set(c.transforms || []);
	const extra = (c.transforms || []).filter((x) => !TRANSFORMS.some(([v]) => v === x));
	const transforms = h('div', { class: 'transform-list' },
		[...TRANSFORMS, ...extra.map((x) => [x, x])].map(([v, label]) => {
			const id = uid('tf');
			return h('span', { class: 'transform' },
				h('input', { type: 'checkbox', id, value: v, checked: have.has(v),
					'data-role': 'transform' }),
				h('label', { for: id }, label));
		}));
	const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet cond-remove' },
		'Remove');
	const num = h('span', { class: 'cond-num' });
	const targetBox = h('div', { class: 'field cond-target' },
		h('label', { class: 'small-label' }, 'Target'),
		h('div', { class: 'target-pair' }, targetSel, header),
		h('p', { class: 'field-error', hidden: true }));
	const opBox = h('div', { class: 'field cond-op' },
		h('label', { class: 'small-label' }, 'Operator'), opSel,
		h('p', { class: 'field-error', hidden: true }));
	const valueBox = h('div', { class: 'field cond-value' },
		h('label', { class: 'small-label' }, 'Value'), value, valueHint,
		h('p', { class: 'field-error', hidden: true }));
	const tfBox = h('fieldset', { class: 'field cond-transforms' },
		h('legend', { class: 'small-label' }, 'Transforms, applied in this order'), transforms,
		h('p', { class: 'field-error', hidden: true }));
	const row = h('div', { class: 'cond-row' },
		h('div', { class: 'cond-head' }, num, readOnly ? null : remove),
		h('div', { class: 'cond-grid' }, targetBox, opBox, valueBox), tfBox,
		h('p', { class: 'field-error cond-error', hidden: true }));
	const sync = () => {
		header.hidden = targetSel.value !== 'header';
		const op = OPERATORS.find(([v]) => v === opSel.value);
		const detector = opSel.value.startsWith('detect_');
		value.disabled = detector || readOnly;
		valueBox.classList.toggle('is-unused', detector);
		replace(valueHint, op ? op[2] : '', op && op[3] ? h('code', { class: 'nowrap' }, op[3]) : null);
		value.inputMode = opSel.value === 'length_gt' ? 'numeric' : 'text';
	};
	targetSel.addEventListener('change', () => {
		sync();
		if (targetSel.value === 'header')
			header.focus();
	});
	opSel.addEventListener('change', sync);
	remove.addEventListener('click', () => {
		if (list.children.length < 2)
			return;
		const next = row.nextElementSibling || row.previousElementSibling;
		row.remove();
		renumberConditions(list);
		next.querySelector('select').focus();
	});
	if (readOnly) {
		for (const el of row.querySelectorAll('input, select'))
			el.disabled = true;
	}
	sync();
	return row;
}

// Labels, ids and the error slots (data-field names as the API reports
// them: conditions[0].value) follow the row's position.
function renumberConditions(list) {
	const rows = [...list.children];
	rows.forEach((row, i) => {
		const n = i + 1;
		const base = `conditions[${i}]`;
		row.setAttribute('data-field', base);
		row.querySelector('.cond-num').textContent = `Condition ${n}`;
		const parts = [['.cond-target', 'target', 'select'], ['.cond-op', 'operator', 'select'],
			['.cond-value', 'value', 'input'], ['.cond-transforms', 'transforms', null]];
		for (const [sel, key, control] of parts) {
			const box = row.querySelector(sel);
			const name = `${base}.${key}`;
			box.setAttribute('data-field', name);
			const err = box.querySelector(':scope > .field-error');
			err.id = `cond-${i}-${key}-error`;
			err.setAttribute('data-error-for', name);
			if (control) {
				const el = box.querySelector(`:scope > ${control}, :scope > .target-pair > ${control}`);
				el.id = `cond-${i}-${key}`;
				el.setAttribute('name', name);
				el.setAttribute('aria-describedby', err.id);
				box.querySelector(':scope > label').setAttribute('for', el.id);
			}
		}
		const header = row.querySelector('[data-role=header]');
		header.setAttribute('aria-label', `Condition ${n} header name`);
		header.setAttribute('aria-describedby', `cond-${i}-target-error`);
		const hint = row.querySelector('.cond-value .hint');
		hint.id = `cond-${i}-value-hint`;
		row.querySelector('[data-role=value]').setAttribute('aria-describedby',
			`cond-${i}-value-hint cond-${i}-value-error`);
		const rowErr = row.querySelector('.cond-error');
		rowErr.setAttribute('data-error-for', base);
		const remove = row.querySelector('.cond-remove');
		if (remove) {
			remove.setAttribute('aria-label', `Remove condition ${n}`);
			remove.disabled = rows.length === 1;
		}
	});
}

function readConditions(list) {
	return [...list.children].map((row) => {
		const target = row.querySelector('[data-role=target]').value;
		const header = row.querySelector('[data-role=header]').value.trim();
		const operator = row.querySelector('[data-role=operator]').value;
		return {
			target: target === 'header' ? `header:${header}` : target,
			operator,
			value: operator.startsWith('detect_') ? '' : row.querySelector('[data-role=value]').value,
			transforms: [...row.querySelectorAll('[data-role=transform]:checked')].map((x) => x.value),
		};
	});
}

// Client-side checks that need no server: returns [[field, message]].
function checkRule(body) {
	const problems = [];
	if (!body.description)
		problems.push(['description', 'Describe what the rule is for.']);
	body.conditions.forEach((c, i) => {
		if (c.target === 'header:')
			problems.push([`conditions[${i}].target`, 'Enter the header name.']);
		if (!c.operator.startsWith('detect_') && c.value === '')
			problems.push([`conditions[${i}].value`, 'Enter the value to compare with.']);
		if (c.operator === 'length_gt' && !/^\d+$/.test(c.value.trim()) && c.value !== '')
			problems.push([`conditions[${i}].value`, 'Enter a number of bytes.']);
	});
	return problems;
}

// The form field an API error names; "conditions[1].value" first, then
// shorter prefixes ("conditions[1]", "conditions").
function errorSlot(form, name) {
	let n = name;
	while (n) {
		if (form.querySelector(`[data-field="${CSS.escape(n)}"]`))
			return n;
		const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
		n = cut > 0 ? n.slice(0, cut) : '';
	}
	return null;
}

// "conditions[0].value: PCRE2 error at offset 15: ..." next to that very
// field needs no field name in front.
function withoutField(name, message) {
	const prefix = `${name}: `;
	return message && message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

function setRuleError(form, name, text) {
	const slot = errorSlot(form, name);
	const message = slot === name ? withoutField(name, text) : text;
	if (!slot)
		return null;
	const box = form.querySelector(`[data-field="${CSS.escape(slot)}"]`);
	// A condition row shows its own error line (under the row).
	if (box.classList.contains('cond-row')) {
		const err = box.querySelector('.cond-error');
		err.textContent = message;
		err.hidden = !message;
		return box.querySelector('select');
	}
	const control = setFieldError(form, slot, message);
	if (slot.endsWith('.target') && message) {
		const header = box.querySelector('[data-role=header]');
		if (header && !header.hidden) {
			header.setAttribute('aria-invalid', 'true');
			return header;
		}
	}
	return control || box.querySelector('input, select, textarea');
}

function clearRuleErrors(form) {
	clearErrors(form);
	for (const e of form.querySelectorAll('.cond-error')) {
		e.textContent = '';
		e.hidden = true;
	}
	for (const e of form.querySelectorAll('[aria-invalid]'))
		e.removeAttribute('aria-invalid');
}

function appPicker(apps, selected) {
	const all = h('input', { type: 'checkbox', id: uid('app-all'), checked: selected.length === 0,
		'data-role': 'app-all' });
	const boxes = apps.map((a) => {
		const id = uid('app');
		return h('span', { class: 'app-choice' },
			h('input', { type: 'checkbox', id, value: String(a.id), 'data-role': 'app',
				checked: selected.includes(a.id) }),
			h('label', { for: id }, a.name));
	});
	const missing = selected.filter((id) => !apps.some((a) => a.id === id));
	const list = h('div', { class: 'app-choices' }, boxes,
		missing.map((id) => h('span', { class: 'app-choice' },
			h('input', { type: 'checkbox', id: `app-missing-${id}`, value: String(id), checked: true,
				'data-role': 'app' }),
			h('label', { for: `app-missing-${id}` }, `#${id} (deleted)`))));
	const sync = () => {
		for (const b of list.querySelectorAll('input'))
			b.disabled = all.checked || all.disabled;
	};
	all.addEventListener('change', () => {
		sync();
		if (!all.checked) {
			const first = list.querySelector('input');
			if (first)
				first.focus();
		}
	});
	const group = h('fieldset', { class: 'group app-picker', 'data-field': 'applications' },
		h('legend', {}, 'Applications'),
		h('div', { class: 'check-field' }, all,
			h('label', { for: all.id }, 'All applications',
				h('span', { class: 'optional' }, ' (also those added later)'))),
		apps.length ? list : h('p', { class: 'hint' }, 'No applications yet.'),
		h('p', { class: 'field-error', 'data-error-for': 'applications', hidden: true }));
	group.sync = sync;
	sync();
	return group;
}

function readApps(group) {
	if (group.querySelector('[data-role=app-all]').checked)
		return [];
	return [...group.querySelectorAll('[data-role=app]:checked')].map((b) => Number(b.value));
}

function actionPicker(selected) {
	const name = uid('action');
	return h('div', { class: 'field', 'data-field': 'action' },
		h('fieldset', { class: 'segmented' },
			h('legend', {}, 'Action'),
			ACTIONS.map(([v, label]) => {
				const id = `${name}-${v}`;
				return h('div', { class: 'segment' },
					h('input', { type: 'radio', name, id, value: v, checked: v === selected,
						'data-role': 'action' }),
					h('label', { for: id }, label));
			})),
		h('p', { class: 'hint action-hint' }),
		h('p', { class: 'field-error', 'data-error-for': 'action', hidden: true }));
}

export function openRuleEditor(rule) {
	const preset = Boolean(rule && rule.preset);
	const r = rule || {
		description: '', enabled: true, applications: [], action: 'block',
		conditions: [{ target: 'args', operator: 'regex', value: '', transforms: ['url_decode'] }],
	};
	const title = !rule ? 'Add rule' : `${preset ? 'Preset rule' : 'Edit rule'} ${rule.id}`;
	const { dialog } = openDialog({
		title,
		wide: true,
		focus: preset ? 'input[name="enabled"]' : 'input[name="description"]',
		build: (body, close) => buildRuleForm(body, close, r, rule, preset),
	});
	dialog.classList.add('dialog-rule');
	// Focus is on Enabled, at the bottom; show the preset notice on top.
	if (preset)
		dialog.scrollTop = 0;
}

function buildRuleForm(body, close, r, rule, preset) {
	const description = h('input', { type: 'text', value: r.description || '', maxlength: '200',
		autocomplete: 'off', placeholder: 'Block requests that mention forbidden-word' });
	const enabled = h('input', { type: 'checkbox', checked: r.enabled !== false, id: uid('enabled'),
		name: 'enabled', 'aria-describedby': 'rule-enabled-hint' });
	const apps = appPicker(view.apps, r.applications || []);
	const conds = h('div', { class: 'cond-list' });
	const conditions = r.conditions && r.conditions.length ? r.conditions :
		[{ target: 'args', operator: 'regex', value: '', transforms: [] }];
	conds.append(...conditions.map((c) => conditionRow(conds, c, preset)));
	renumberConditions(conds);
	const addCond = h('button', { type: 'button', class: 'btn btn-small', onclick: () => {
		conds.append(conditionRow(conds, { target: 'args', operator: 'contains', value: '',
			transforms: [] }, false));
		renumberConditions(conds);
		conds.lastElementChild.querySelector('select').focus();
	} }, 'Add condition');
	const action = actionPicker(r.action || 'block');
	const actionHint = action.querySelector('.action-hint');
	const syncAction = () => {
		const checked = action.querySelector('input:checked');
		const a = ACTIONS.find(([v]) => checked && v === checked.value);
		actionHint.textContent = a ? a[2] : '';
	};
	action.addEventListener('change', syncAction);
	syncAction();
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' },
		rule ? 'Save rule' : 'Create rule');
	const editable = h('fieldset', { class: 'plain-fieldset panel', disabled: preset },
		field({ label: 'Description', control: description, name: 'description' }),
		apps,
		h('fieldset', { class: 'group', 'data-field': 'conditions' },
			h('legend', {}, 'Conditions'),
			h('p', { class: 'hint' }, 'All conditions must match for the rule to apply.'),
			conds,
			preset ? null : addCond,
			h('p', { class: 'field-error', 'data-error-for': 'conditions', hidden: true })),
		action);
	const form = h('form', { class: 'form rule-form', novalidate: true },
		preset ? h('p', { class: 'notice notice-info' }, 'A preset rule ships with postern and ' +
			'keeps its conditions; you can only turn it off or on.') : null,
		editable,
		h('div', { class: 'check-field' }, enabled,
			h('div', {}, h('label', { for: enabled.id }, 'Enabled'),
				h('p', { class: 'hint', id: 'rule-enabled-hint' }, 'A disabled rule stays in the ' +
					'list and matches nothing.'))),
		h('details', { class: 'test-details' },
			h('summary', {}, 'Test a request'),
			h('p', { class: 'hint' }, rule ?
				`Runs the saved rules; this rule's matches are marked. Save first to test changes.` :
				'Runs the saved rules; create this rule first to see it match.'),
			testBox({ apps: view.apps, id: 'editor', highlight: rule ? rule.id : null,
				app: (r.applications || [])[0] })),
		formError(),
		h('div', { class: 'dialog-actions' },
			h('button', { type: 'button', class: 'btn', onclick: close }, 'Cancel'), submit));
	liveClear(form);
	form.addEventListener('input', (ev) => {
		const row = ev.target.closest('.cond-row');
		if (row) {
			const err = row.querySelector('.cond-error');
			err.hidden = true;
			ev.target.removeAttribute('aria-invalid');
		}
	});
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearRuleErrors(form);
		let req;
		if (preset) {
			req = { enabled: enabled.checked };
		} else {
			req = {
				description: description.value.trim(),
				enabled: enabled.checked,
				applications: readApps(apps),
				conditions: readConditions(conds),
				action: (action.querySelector('input:checked') || { value: 'block' }).value,
			};
			const problems = checkRule(req);
			if (problems.length) {
				let first = null;
				for (const [name, msg] of problems) {
					const c = setRuleError(form, name, msg);
					first = first || c;
				}
				if (first)
					first.focus();
				return;
			}
		}
		const done = busy(submit, 'Saving…');
		try {
			const saved = await api(rule ? 'PUT' : 'POST', rule ? `/waf/rules/${rule.id}` : '/waf/rules',
				req);
			close();
			const id = (saved && saved.id) || (rule && rule.id);
			notify(rule ? `Rule ${id} saved.` : `Rule ${id} created.`);
			view.flash = id;
			await refreshRules();
		} catch (err) {
			done();
			const control = err.field ? setRuleError(form, err.field, err.message) : null;
			if (control && !control.closest('[hidden]')) {
				control.focus();
				return;
			}
			showFormError(form, err.message);
		}
	});
	body.append(form);
}

// ---- the test box

function hostOf(app) {
	const d = app && app.domains && app.domains.find((x) => !x.startsWith('*.'));
	if (d)
		return d;
	const w = app && app.domains && app.domains[0];
	return w ? `www.${w.slice(2)}` : 'shop.example.com';
}

export function exampleRequest(host) {
	return `GET /search?q=1%27%20or%201=1-- HTTP/1.1\nHost: ${host}\n` +
		'User-Agent: Mozilla/5.0 (X11; Linux x86_64)\nAccept: text/html\n\n';
}

// The raw request as the API takes it: CRLF line ends, the blank line
// after the headers, and a Content-Length for a body that has none.
export function rawRequest(text) {
	let t = text.replace(/\r\n/g, '\n').replace(/^\n+/, '');
	let head = t;
	let bodyText = '';
	const cut = t.indexOf('\n\n');
	if (cut >= 0) {
		head = t.slice(0, cut);
		bodyText = t.slice(cut + 2);
	}
	head = head.replace(/\n+$/, '');
	if (bodyText && !/^(content-length|transfer-encoding):/im.test(head)) {
		const len = new TextEncoder().encode(bodyText).length;
		head += `\nContent-Length: ${len}`;
	}
	t = `${head}\n\n${bodyText}`;
	return t.replace(/\n/g, '\r\n');
}

function testBox({ apps, id, highlight, app }) {
	// The editor's box sits inside the rule form, and forms do not nest:
	// there it is a div whose button runs the test.
	const inForm = id === 'editor';
	const appSel = h('select', { id: `test-app-${id}`, 'data-role': 'test-app' },
		apps.map((a) => h('option', { value: String(a.id) }, `${a.name} (${MODES[a.waf || 'off']})`)));
	const preferred = apps.find((a) => a.id === app) || apps.find((a) => a.waf && a.waf !== 'off');
	if (preferred)
		appSel.value = String(preferred.id);
	const current = () => apps.find((a) => String(a.id) === appSel.value);
	const request = h('textarea', { id: `test-request-${id}`, rows: '7', class: 'mono', wrap: 'off',
		spellcheck: 'false', autocomplete: 'off', 'data-role': 'test-request' });
	request.value = exampleRequest(hostOf(current()));
	appSel.addEventListener('change', () => {
		// Follow the application in the Host line.
		request.value = request.value.replace(/^(host:[ \t]*).*$/im, `$1${hostOf(current())}`);
	});
	const run = h('button', { type: inForm ? 'button' : 'submit', class: 'btn btn-primary',
		'data-role': 'test-run', disabled: apps.length === 0 }, 'Test');
	const result = h('div', { class: 'test-result', 'aria-live': 'polite', 'data-role': 'test-result' });
	const box = h(inForm ? 'div' : 'form', { class: 'form test-form', novalidate: !inForm,
		'data-test-box': id },
	apps.length ? null : h('p', { class: 'notice notice-info' }, 'Create an application first: ' +
		'the test runs the rules of one application.'),
	field({ label: 'Application', control: appSel, name: 'application_id' }),
	field({ label: 'Raw HTTP request', control: request, name: 'request',
		hint: 'Paste or edit a request. Line ends become CRLF; a Content-Length is added to a ' +
			'body that has none.' }),
	formError(),
	h('div', { class: 'form-actions form-actions-start' }, run),
	result);
	liveClear(box);
	const submitTest = async (ev) => {
		ev.preventDefault();
		ev.stopPropagation();
		clearErrors(box);
		if (!request.value.trim()) {
			setFieldError(box, 'request', 'Enter a request, such as the example.');
			request.focus();
			return;
		}
		const done = busy(run, 'Testing…');
		try {
			const res = await api('POST', '/waf/test',
				{ application_id: Number(appSel.value), request: rawRequest(request.value) });
			replace(result, verdictView(res, current(), highlight));
		} catch (err) {
			replace(result);
			const name = err.field ? err.field.split(/[[.]/)[0] : null;
			if (!name || !setFieldError(box, name, err.message))
				showFormError(box, err.message);
		} finally {
			done();
		}
	};
	if (inForm) {
		run.addEventListener('click', submitTest);
		request.addEventListener('keydown', (ev) => {
			if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey))
				submitTest(ev);
		});
	} else {
		box.addEventListener('submit', submitTest);
	}
	return box;
}

function verdictView(res, app, highlight) {
	const v = VERDICTS[res.verdict] || [res.verdict, 'grey', ''];
	const matches = res.matches || [];
	const mode = res.mode || (app && app.waf) || 'off';
	let modeNote = null;
	if (mode === 'off')
		modeNote = `The firewall of ${app ? app.name : 'this application'} is Off: in traffic, ` +
			'no rule runs. Set it to Detect or Block in the application editor.';
	else if (mode === 'detect' && res.verdict === 'block')
		modeNote = `${app ? app.name : 'This application'} is in Detect mode: in traffic, this ` +
			'request is logged, not blocked.';
	return h('div', { class: 'verdict', 'data-verdict': res.verdict },
		h('div', { class: 'verdict-head' },
			h('span', { class: 'verdict-label' }, 'Verdict'),
			h('span', { class: `badge badge-big badge-${v[1]}`, 'data-role': 'verdict' }, v[0]),
			h('span', { class: 'muted small' }, `firewall mode: ${MODES[mode] || mode}`)),
		h('p', { class: 'small' }, v[2]),
		modeNote ? h('p', { class: 'notice notice-warn small' }, modeNote) : null,
		matches.length === 0 ? h('p', { class: 'muted small' }, 'No rule matches.') :
			h('ul', { class: 'match-list', 'aria-label': 'Matching rules' }, matches.map((m) =>
				h('li', { class: `match ${highlight && m.rule_id === highlight ? 'is-this' : ''}`,
					'data-rule': m.rule_id },
				h('div', { class: 'match-head' },
					h('span', { class: 'mono match-id' }, String(m.rule_id)),
					h('span', { class: 'match-desc' }, m.description || ''),
					actionBadge(m.action),
					highlight && m.rule_id === highlight ?
						h('span', { class: 'badge badge-blue badge-plain' }, 'this rule') : null),
				h('dl', { class: 'match-detail' },
					h('dt', {}, 'Target'), h('dd', {}, h('code', {}, m.target || '—')),
					h('dt', {}, 'Matched'), h('dd', {}, h('code', { class: 'excerpt' },
						m.excerpt === undefined || m.excerpt === '' ? '—' : m.excerpt)))))));
}
