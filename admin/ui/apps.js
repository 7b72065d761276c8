// Applications page: the list (with the certificate that serves each
// domain) and the editor.
import { api } from './api.js';
import { loadCertificates } from './certs.js';
import {
	h, replace, uid, badge, notify, confirmDialog, field, setFieldError, clearErrors, formError,
	showFormError, busy, pageHead, liveClear,
} from './dom.js';

const BALANCE = [
	['round_robin', 'Round robin', 'each backend in turn'],
	['weighted', 'Weighted', 'in proportion to the weights'],
	['ip_hash', 'IP hash', 'one client stays on one backend'],
	['least_conn', 'Least connections', 'the backend with the fewest open requests'],
];

function names(c) {
	return [c.subject_cn, ...(c.sans || [])].filter(Boolean).map((n) => n.toLowerCase());
}

function covers(name, domain) {
	if (name === domain)
		return 'exact';
	if (name.startsWith('*.') && !domain.startsWith('*.')) {
		const dot = domain.indexOf('.');
		if (dot > 0 && domain.slice(dot + 1) === name.slice(2))
			return 'wildcard';
	}
	return null;
}

function validNow(c) {
	const now = Date.now();
	return c.issued_on && c.expires_on && Date.parse(c.issued_on) <= now &&
		Date.parse(c.expires_on) > now;
}

function best(list) {
	return [...list].sort((a, b) => (validNow(b) - validNow(a)) ||
		(Date.parse(b.expires_on || 0) - Date.parse(a.expires_on || 0)))[0];
}

// The certificate that serves domain, as the SNI cache picks it (SPEC 3):
// exact names first, then wildcards; among several, valid now and the
// latest expiry. Returns {cert, pending} where pending is a not-deployed
// record for this domain (an ACME order in progress, say).
export function coverage(domain, certs) {
	const d = domain.toLowerCase();
	const deployed = certs.filter((c) => c.deployed);
	for (const kind of ['exact', 'wildcard']) {
		const hits = deployed.filter((c) => names(c).some((n) => covers(n, d) === kind));
		if (hits.length)
			return { cert: best(hits), pending: null };
	}
	const pending = certs.find((c) => !c.deployed && c.domain.toLowerCase() === d) || null;
	return { cert: null, pending };
}

function coverageLine(domain, certs, forced) {
	const { cert, pending } = forced ? { cert: forced, pending: null } : coverage(domain, certs);
	if (cert) {
		// Served, but by a certificate browsers will reject: say so.
		const bad = ['expired', 'not_yet_valid', 'domain_mismatch'].includes(cert.status);
		return h('span', { class: `cover ${bad ? 'cover-warn' : 'cover-ok'}`, 'data-cover': 'ok' },
			h('span', { 'aria-hidden': 'true' }, bad ? '⚠ ' : '✓ '),
			`Certificate #${cert.id} (${cert.domain}, ${cert.name})`,
			cert.status !== 'ok' ? [' ', badge(cert.status)] : null);
	}
	return h('span', { class: 'cover cover-warn', 'data-cover': 'none' },
		h('span', { 'aria-hidden': 'true' }, '⚠ '),
		'No certificate covers this domain',
		pending ? [` (certificate #${pending.id} is `, badge(pending.status), ')'] : null);
}

function domainList(app, certs) {
	const byId = new Map(certs.map((c) => [c.id, c]));
	return h('ul', { class: 'domain-list' }, app.domains.map((d, i) => h('li', {},
		h('span', { class: 'domain-name' }, d),
		coverageLine(d, certs, i === 0 && app.certificate_id ? byId.get(app.certificate_id) : null))));
}

export async function renderApplications(main) {
	const [data, certs] = await Promise.all([api('GET', '/applications'), loadCertificates()]);
	const apps = (data && data.applications) || [];
	const add = h('a', { class: 'btn btn-primary', href: '#/applications/new' }, 'New application');
	const content = apps.length === 0 ?
		h('div', { class: 'empty' },
			h('p', { class: 'empty-title' }, 'No applications yet'),
			h('p', { class: 'muted' }, 'An application sends the requests for its domains to ' +
				'its backends.'),
			h('a', { class: 'btn btn-primary', href: '#/applications/new' }, 'New application')) :
		h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive' },
			h('caption', { class: 'visually-hidden' }, 'Applications'),
			h('thead', {}, h('tr', {},
				['Name', 'Domains and certificates', 'Backends', 'Balance', 'HTTPS redirect']
					.map((t) => h('th', { scope: 'col' }, t)),
				h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
			h('tbody', {}, apps.map((a) => appRow(a, certs)))));
	replace(main, pageHead('Applications', add), content);
}

function appRow(a, certs) {
	const label = (BALANCE.find(([v]) => v === a.balance) || [a.balance, a.balance])[1];
	return h('tr', { 'data-id': a.id, 'data-name': a.name },
		h('th', { scope: 'row', 'data-label': 'Name' },
			h('a', { href: `#/applications/${a.id}` }, a.name)),
		h('td', { 'data-label': 'Domains' }, domainList(a, certs)),
		h('td', { 'data-label': 'Backends' }, h('ul', { class: 'plain-list' },
			a.backends.map((b) => h('li', {}, h('code', {}, b.url),
				a.balance === 'weighted' ? h('span', { class: 'muted' }, ` × ${b.weight}`) : null)))),
		h('td', { 'data-label': 'Balance' }, label),
		h('td', { 'data-label': 'HTTPS redirect' }, a.https_redirect ? 'Yes' : 'No'),
		h('td', { 'data-label': 'Actions', class: 'actions' },
			h('a', { class: 'btn btn-small', href: `#/applications/${a.id}`,
				'aria-label': `Edit ${a.name}` }, 'Edit'),
			h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet',
				'aria-label': `Delete ${a.name}`, onclick: () => removeApp(a) }, 'Delete')));
}

async function removeApp(a) {
	const yes = await confirmDialog({
		title: 'Delete application?',
		message: `${a.name} is deleted; requests for ${a.domains.join(', ')} get 404 within a ` +
			'second. Its certificates stay.',
		confirmLabel: 'Delete application',
	});
	if (!yes)
		return false;
	try {
		await api('DELETE', `/applications/${a.id}`);
		notify(`Application ${a.name} deleted.`);
		if (window.location.hash === '#/applications')
			window.dispatchEvent(new HashChangeEvent('hashchange'));
		else
			window.location.hash = '#/applications';
		return true;
	} catch (err) {
		notify(err.message, 'error');
		return false;
	}
}

function backendRow(list, b) {
	const url = h('input', { type: 'url', class: 'mono', value: b.url || '',
		placeholder: 'http://127.0.0.1:8080', 'data-role': 'url', spellcheck: 'false' });
	const weight = h('input', { type: 'number', min: '1', max: '1000', step: '1',
		value: String(b.weight || 1), 'data-role': 'weight', class: 'weight-input' });
	const urlId = uid('backend-url');
	const weightId = uid('backend-weight');
	url.id = urlId;
	weight.id = weightId;
	const row = h('div', { class: 'backend-row' },
		h('div', { class: 'backend-url' }, h('label', { for: urlId, class: 'small-label' }, 'URL'), url),
		h('div', { class: 'backend-weight' },
			h('label', { for: weightId, class: 'small-label' }, 'Weight'), weight),
		h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet backend-remove',
			onclick: () => {
				if (list.children.length > 1) {
					row.remove();
					renumber(list);
					list.querySelector('input').focus();
				}
			} }, 'Remove'));
	return row;
}

function renumber(list) {
	[...list.children].forEach((row, i) => {
		row.querySelector('[data-role=url]').setAttribute('aria-label', `Backend ${i + 1} URL`);
		row.querySelector('[data-role=weight]').setAttribute('aria-label', `Backend ${i + 1} weight`);
		row.querySelector('.backend-remove').setAttribute('aria-label', `Remove backend ${i + 1}`);
		row.querySelector('.backend-remove').disabled = list.children.length === 1;
	});
}

// Which form field an API error belongs to (the application validator
// names the thing in its message).
function fieldFor(err) {
	if (err.field)
		return err.field.split(/[[.]/)[0]; // "backends[1].url" -> backends
	if (err.status === 409 || /domain/i.test(err.message))
		return 'domains';
	if (/backend|url/i.test(err.message))
		return 'backends';
	if (/health|interval/i.test(err.message))
		return 'health_check';
	if (/balanc/i.test(err.message))
		return 'balance';
	if (/header/i.test(err.message))
		return 'client_ip_header';
	if (/name/i.test(err.message))
		return 'name';
	return null;
}

export async function renderApplicationEditor(main, id) {
	const [app, certs] = await Promise.all([
		id ? api('GET', `/applications/${id}`) : Promise.resolve(null), loadCertificates(),
	]);
	const a = app || { name: '', domains: [], backends: [{ url: '', weight: 1 }],
		balance: 'round_robin', https_redirect: true, auto_certificate: false,
		client_ip_header: 'X-Forwarded-For', health_check: null };
	const c = {
		name: h('input', { type: 'text', value: a.name, autocomplete: 'off', maxlength: '64' }),
		domains: h('textarea', { rows: '3', class: 'mono', spellcheck: 'false',
			placeholder: 'shop.example.com' }),
		balance: h('select', { value: a.balance }, BALANCE.map(([v, t, d]) =>
			h('option', { value: v }, `${t}: ${d}`))),
		redirect: h('input', { type: 'checkbox', checked: a.https_redirect }),
		auto: h('input', { type: 'checkbox', checked: a.auto_certificate }),
		ipHeader: h('input', { type: 'text', value: a.client_ip_header || '', spellcheck: 'false' }),
		hcOn: h('input', { type: 'checkbox', checked: Boolean(a.health_check) }),
		hcPath: h('input', { type: 'text', class: 'mono',
			value: a.health_check ? a.health_check.path : '/healthz' }),
		hcInterval: h('input', { type: 'number', min: '1', max: '3600', class: 'weight-input',
			value: String(a.health_check ? a.health_check.interval_s : 10) }),
	};
	c.domains.value = a.domains.join('\n');
	c.balance.value = a.balance;
	const backends = h('div', { class: 'backend-list' });
	backends.append(...a.backends.map((b) => backendRow(backends, b)));
	renumber(backends);
	const cover = h('ul', { class: 'domain-list', 'aria-live': 'polite' });
	const drawCover = () => replace(cover, domainsOf(c.domains.value).map((d) =>
		h('li', {}, h('span', { class: 'domain-name' }, d), coverageLine(d, certs, null))));
	c.domains.addEventListener('input', drawCover);
	drawCover();
	const hcFields = h('div', { class: 'inline-fields' },
		field({ label: 'Path', control: c.hcPath, name: 'health_path' }),
		field({ label: 'Interval (seconds)', control: c.hcInterval, name: 'health_interval' }));
	const syncHc = () => {
		c.hcPath.disabled = !c.hcOn.checked;
		c.hcInterval.disabled = !c.hcOn.checked;
	};
	c.hcOn.addEventListener('change', syncHc);
	syncHc();
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' },
		id ? 'Save changes' : 'Create application');
	const form = h('form', { class: 'form form-page', novalidate: true },
		field({ label: 'Name', control: c.name, name: 'name' }),
		field({ label: 'Domains', control: c.domains, name: 'domains',
			hint: 'One per line; a wildcard such as *.example.com covers one label.' }),
		h('div', { class: 'coverage' }, h('p', { class: 'small-label' }, 'Certificates'), cover),
		h('fieldset', { class: 'group', 'data-field': 'backends' },
			h('legend', {}, 'Backends'),
			backends,
			h('button', { type: 'button', class: 'btn btn-small', onclick: () => {
				backends.append(backendRow(backends, { url: '', weight: 1 }));
				renumber(backends);
				backends.lastElementChild.querySelector('input').focus();
			} }, 'Add backend'),
			h('p', { class: 'field-error', 'data-error-for': 'backends', hidden: true })),
		field({ label: 'Load balancing', control: c.balance, name: 'balance' }),
		h('div', { class: 'checks' },
			checkbox(c.redirect, 'HTTPS redirect', 'Plain HTTP requests get a 301 to HTTPS ' +
				'(ACME challenges excepted).'),
			checkbox(c.auto, 'Automatic certificates', 'Order Let\'s Encrypt certificates for ' +
				'every domain and renew them.')),
		field({ label: 'Client IP header', control: c.ipHeader, name: 'client_ip_header',
			hint: 'Sent to the backends with the client\'s address.' }),
		h('fieldset', { class: 'group', 'data-field': 'health_check' },
			h('legend', {}, 'Health check'),
			checkbox(c.hcOn, 'Active health check', 'postern requests this path on every ' +
				'backend and takes failing ones out of rotation.'),
			hcFields,
			h('p', { class: 'field-error', 'data-error-for': 'health_check', hidden: true })),
		formError(),
		h('div', { class: 'form-actions' },
			id ? h('button', { type: 'button', class: 'btn btn-danger-quiet btn-delete',
				onclick: () => removeApp(a) }, 'Delete application') : null,
			h('a', { class: 'btn', href: '#/applications' }, 'Cancel'),
			submit));
	liveClear(form);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		save(form, c, backends, id, submit);
	});
	replace(main, pageHead(id ? `Edit ${a.name}` : 'New application'), form);
	if (!id)
		c.name.focus();
}

function checkbox(input, label, hint) {
	const id = uid('check');
	input.id = id;
	input.setAttribute('aria-describedby', `${id}-hint`);
	return h('div', { class: 'check-field' }, input,
		h('div', {}, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-hint` }, hint)));
}

function domainsOf(text) {
	return text.split(/[\s,]+/).map((d) => d.trim()).filter(Boolean);
}

async function save(form, c, backends, id, submit) {
	clearErrors(form);
	const body = {
		name: c.name.value.trim(),
		domains: domainsOf(c.domains.value),
		backends: [...backends.children].map((row) => ({
			url: row.querySelector('[data-role=url]').value.trim(),
			weight: Number(row.querySelector('[data-role=weight]').value) || 1,
		})).filter((b) => b.url),
		balance: c.balance.value,
		https_redirect: c.redirect.checked,
		auto_certificate: c.auto.checked,
		client_ip_header: c.ipHeader.value.trim(),
		health_check: c.hcOn.checked ?
			{ path: c.hcPath.value.trim(), interval_s: Number(c.hcInterval.value) || 10 } : null,
	};
	const missing = [['name', !body.name, 'Give the application a name.'],
		['domains', !body.domains.length, 'Enter at least one domain.'],
		['backends', !body.backends.length, 'Enter at least one backend URL.']];
	let first = null;
	for (const [name, bad, msg] of missing) {
		if (bad) {
			setFieldError(form, name, msg);
			first = first || name;
		}
	}
	if (first) {
		focusField(form, first);
		return;
	}
	const done = busy(submit, 'Saving…');
	try {
		const saved = await api(id ? 'PUT' : 'POST', id ? `/applications/${id}` : '/applications',
			body);
		notify(`Application ${(saved && saved.name) || body.name} saved.`);
		window.location.hash = '#/applications';
	} catch (err) {
		done();
		const name = fieldFor(err);
		if (name && form.querySelector(`[data-field="${name}"]`)) {
			setFieldError(form, name, err.message);
			focusField(form, name);
			return;
		}
		showFormError(form, err.message);
	}
}

function focusField(form, name) {
	const box = form.querySelector(`[data-field="${name}"]`);
	const control = box && box.querySelector('input, textarea, select');
	if (control)
		control.focus();
}
