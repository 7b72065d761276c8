// Small DOM helpers. Everything the server sends is inserted as text
// (textContent, attributes), never as HTML, so no field can inject markup.

let nextId = 0;

// A fresh element id with a readable prefix.
export function uid(prefix) {
	nextId += 1;
	return `${prefix}-${nextId}`;
}

function appendChildren(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

// h('button', {class: 'btn', onclick: fn}, 'Label'): an element with
// attributes, event listeners (on*) and children (nodes or text).
// "value" and "checked" are set as properties after the children, so a
// select's value is chosen among its options.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	const props = {};
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'class')
			el.className = v;
		else if (k === 'value' || k === 'checked')
			props[k] = v;
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	appendChildren(el, children);
	Object.assign(el, props);
	return el;
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

// Replace el's children.
export function replace(el, ...children) {
	clear(el);
	appendChildren(el, children);
	return el;
}

// "2026-11-01" from an ISO 8601 time (or unix seconds); "—" when missing.
export function formatDate(t) {
	const d = toDate(t);
	return d ? d.toISOString().slice(0, 10) : '—';
}

// "2026-11-01 14:03 UTC" for tooltips and the audit log.
export function formatDateTime(t) {
	const d = toDate(t);
	return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
}

export function toDate(t) {
	if (t === null || t === undefined || t === '')
		return null;
	const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
	return Number.isNaN(d.getTime()) ? null : d;
}

// "3 days 4 hours" from seconds.
export function formatDuration(s) {
	if (typeof s !== 'number' || s < 0)
		return '—';
	const parts = [];
	const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
	let rest = Math.floor(s);
	for (const [name, len] of units) {
		const n = Math.floor(rest / len);
		rest -= n * len;
		if (n > 0 && parts.length < 2)
			parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
	}
	return parts.length ? parts.join(' ') : `${rest} seconds`;
}

export function formatNumber(n) {
	return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

// Certificate status -> [label, colour class].
const STATUS = {
	ok: ['OK', 'green'],
	expiring: ['Expiring', 'amber'],
	expired: ['Expired', 'red'],
	failed: ['Failed', 'red'],
	not_yet_valid: ['Not yet valid', 'orange'],
	domain_mismatch: ['Domain mismatch', 'orange'],
	pending: ['Pending', 'blue'],
	awaiting_dns: ['Awaiting DNS', 'blue'],
};

export const STATUS_ORDER = Object.keys(STATUS);

export function statusLabel(status) {
	return (STATUS[status] || [status || 'unknown'])[0];
}

// A coloured badge for a certificate status; the colour is never the only
// signal (the label is text).
export function badge(status) {
	const [label, colour] = STATUS[status] || [status || 'unknown', 'grey'];
	return h('span', { class: `badge badge-${colour}`, 'data-status': status }, label);
}

const MAX_TOASTS = 3;

// A transient message in the polite live region (at most three at once:
// the oldest goes first).
export function notify(message, kind = 'ok') {
	const box = document.getElementById('toasts');
	const t = h('div', { class: `toast toast-${kind}` }, message);
	box.append(t);
	while (box.children.length > MAX_TOASTS)
		box.firstElementChild.remove();
	setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

export function clearToasts() {
	clear(document.getElementById('toasts'));
}

// Hide a field's error as soon as the person edits that field again.
export function liveClear(form) {
	form.addEventListener('input', (ev) => {
		const box = ev.target.closest('[data-field]');
		if (box && box.querySelector(':scope > .field-error:not([hidden])'))
			setFieldError(form, box.getAttribute('data-field'), '');
	});
	return form;
}

// Modal dialog on the native <dialog>: the page behind is inert, Escape
// closes it, focus goes to the first field (or opts.focus) and returns to
// whatever had it when the dialog closes. Returns {dialog, body, close}.
export function openDialog(opts) {
	const titleId = uid('dlg-title');
	const opener = document.activeElement;
	const body = h('div', { class: 'dialog-body' });
	const closeBtn = h('button', {
		type: 'button', class: 'btn-icon', 'aria-label': 'Close', onclick: () => close(),
	}, '×');
	const dialog = h('dialog', {
		class: `dialog ${opts.wide ? 'dialog-wide' : ''}`,
		'aria-labelledby': titleId,
	}, h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, opts.title), closeBtn), body);
	let closed = false;
	function close() {
		if (closed)
			return;
		closed = true;
		if (dialog.open)
			dialog.close();
		dialog.remove();
		if (opts.onClose)
			opts.onClose();
		if (opener && opener.isConnected && typeof opener.focus === 'function')
			opener.focus();
	}
	dialog.addEventListener('close', close);
	document.body.append(dialog);
	if (opts.build)
		opts.build(body, close);
	dialog.showModal();
	const first = opts.focus ? body.querySelector(opts.focus) :
		body.querySelector('input:not([type=hidden]):not([type=radio]):not(.file-input),' +
			'input[type=radio]:checked, textarea, select, button');
	(first || closeBtn).focus();
	return { dialog, body, close };
}

// Ask before something destructive. Resolves true when confirmed.
export function confirmDialog({ title, message, confirmLabel, danger = true }) {
	return new Promise((resolve) => {
		let answer = false;
		openDialog({
			title,
			focus: '.btn-cancel',
			onClose: () => resolve(answer),
			build(body, close) {
				body.append(
					h('p', {}, message),
					h('div', { class: 'dialog-actions' },
						h('button', { type: 'button', class: 'btn btn-cancel', onclick: close },
							'Cancel'),
						h('button', {
							type: 'button',
							class: `btn ${danger ? 'btn-danger' : 'btn-primary'} btn-confirm`,
							onclick: () => { answer = true; close(); },
						}, confirmLabel)));
			},
		});
	});
}

// A labelled form field: label, control, optional hint, and an error line
// that setFieldError fills. name is the API field it maps to.
export function field({ label, control, hint, name, optional }) {
	const id = control.id || uid(`f-${name || 'field'}`);
	control.id = id;
	const hintId = hint ? `${id}-hint` : null;
	const errId = `${id}-error`;
	control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
	if (name)
		control.setAttribute('name', name);
	return h('div', { class: 'field', 'data-field': name || null },
		h('label', { for: id }, label, optional ? h('span', { class: 'optional' }, ' (optional)') : null),
		hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
		control,
		h('p', { class: 'field-error', id: errId, 'data-error-for': name || null, hidden: true }));
}

// Show message under the field named name inside form (or hide it when
// message is empty). Returns the control, or null when no such field.
export function setFieldError(form, name, message) {
	const box = form.querySelector(`[data-field="${name}"]`);
	if (!box)
		return null;
	const err = box.querySelector(':scope > .field-error');
	const control = box.querySelector('textarea, select, input:not([type=file])');
	err.textContent = message || '';
	err.hidden = !message;
	if (control) {
		if (message)
			control.setAttribute('aria-invalid', 'true');
		else
			control.removeAttribute('aria-invalid');
	}
	return control;
}

export function clearErrors(form) {
	for (const f of form.querySelectorAll('[data-field]'))
		setFieldError(form, f.getAttribute('data-field'), '');
	const general = form.querySelector('.form-error');
	if (general) {
		general.textContent = '';
		general.hidden = true;
	}
}

// A form-wide error line (role=alert so screen readers announce it).
export function formError() {
	return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

export function showFormError(form, message) {
	const general = form.querySelector('.form-error');
	general.textContent = message;
	general.hidden = false;
}

// Disable a submit button while a request runs; returns a function that
// restores it.
export function busy(button, label) {
	const old = button.textContent;
	button.disabled = true;
	button.textContent = label;
	return () => {
		button.disabled = false;
		button.textContent = old;
	};
}

// The page heading that receives focus after navigation.
export function pageHead(title, ...actions) {
	return h('div', { class: 'page-head' },
		h('h1', { tabindex: '-1', class: 'page-title' }, title),
		actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}
