// Applications page: the list (with the certificate that serves each
// domain) and the editor.
import { api } from './api.js';
import { loadCertificates } from './certs.js';
import { modeBadge } from './waf.js';
import {
	h, replace, uid, badge, notify, confirmDialog, field, setFieldError, clearErrors, formError,
	showFormError, busy, pageHead, liveClear,
} from './dom.js';

const WAF_MODES = [
	['off', 'Off', 'No rule runs.'],
	['detect', 'Detect', 'Matching requests go through and are recorded as events.'],
	['block', 'Block', 'Matching requests get 403 and are recorded as events.'],
];

const RATE_DEFAULT = { requests: 100, per_seconds: 10, burst: 20, key: 'ip', block_seconds: 60,
	action: 'block' };

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
				['Name', 'Domains and certificates', 'Backends', 'Balance', 'HTTPS redirect', 'WAF']
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
		h('td', { 'data-label': 'WAF', 'data-col': 'waf' }, modeBadge(a.waf),
			a.rate_limit ? h('span', { class: 'badge badge-plain badge-grey waf-extra',
				title: `At most ${a.rate_limit.requests} requests per ${a.rate_limit.per_seconds} s` },
			'Rate limit') : null),
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
	if (/rate.?limit/i.test(err.message))
		return 'rate_limit';
	if (/\bip_allow\b/i.test(err.message))
		return 'ip_allow';
	if (/\bip_deny\b/i.test(err.message))
		return 'ip_deny';
	if (/\bwaf\b/i.test(err.message))
		return 'waf';
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
		client_ip_header: 'X-Forwarded-For', health_check: null, waf: 'off', rate_limit: null,
		ip_allow: [], ip_deny: [] };
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
	const fw = firewallControls(a);
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
		fw.section,
		formError(),
		h('div', { class: 'form-actions' },
			id ? h('button', { type: 'button', class: 'btn btn-danger-quiet btn-delete',
				onclick: () => removeApp(a) }, 'Delete application') : null,
			h('a', { class: 'btn', href: '#/applications' }, 'Cancel'),
			submit));
	liveClear(form);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		save(form, c, backends, id, submit, fw, app);
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

async function save(form, c, backends, id, submit, fw, loaded) {
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
	const firewall = fw.read();
	// Sent when postern reported the fields (it knows them) or when they
	// differ from the defaults; a new application with the defaults leaves
	// them out.
	if ((loaded && 'waf' in loaded) || firewall.waf !== 'off' || firewall.rate_limit ||
		firewall.ip_allow.length || firewall.ip_deny.length)
		Object.assign(body, firewall);
	const missing = [['name', !body.name, 'Give the application a name.'],
		['domains', !body.domains.length, 'Enter at least one domain.'],
		['backends', !body.backends.length, 'Enter at least one backend URL.']];
	missing.push(...fw.check());
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
		const exact = err.field && form.querySelector(`[data-field="${err.field}"]`);
		const name = exact ? err.field : fieldFor(err);
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
	const control = box && (box.querySelector('[aria-invalid="true"]') ||
		box.querySelector('input:not(:disabled), textarea, select'));
	if (control)
		control.focus();
}

function cidrsOf(text) {
	return text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}

function numberInput(value, min, max) {
	return h('input', { type: 'number', min: String(min), max: String(max), step: '1',
		value: String(value), class: 'num-input', inputmode: 'numeric' });
}

// The "Firewall" part of the editor (SPEC 6): WAF mode, rate limit and
// the IP lists. Returns {section, read(), check()}.
function firewallControls(a) {
	const rl = a.rate_limit || RATE_DEFAULT;
	const modeName = uid('waf');
	const mode = a.waf || 'off';
	const modeHint = h('p', { class: 'hint', id: `${modeName}-hint` });
	const modes = h('div', { class: 'field', 'data-field': 'waf' },
		h('fieldset', { class: 'segmented', 'aria-describedby': `${modeName}-hint` },
			h('legend', {}, 'Firewall rules'),
			WAF_MODES.map(([v, label]) => h('div', { class: 'segment' },
				h('input', { type: 'radio', name: modeName, id: `${modeName}-${v}`, value: v,
					checked: v === mode, 'data-role': 'waf' }),
				h('label', { for: `${modeName}-${v}` }, label)))),
		modeHint,
		h('p', { class: 'field-error', 'data-error-for': 'waf', hidden: true }));
	const syncMode = () => {
		const v = modes.querySelector('input:checked').value;
		modeHint.textContent = `${WAF_MODES.find(([k]) => k === v)[2]} The rules are on the ` +
			'Firewall page.';
	};
	modes.addEventListener('change', syncMode);
	syncMode();
	const c = {
		on: h('input', { type: 'checkbox', checked: Boolean(a.rate_limit), 'data-role': 'rl-on' }),
		requests: numberInput(rl.requests, 1, 1000000),
		per: numberInput(rl.per_seconds, 1, 86400),
		burst: numberInput(rl.burst, 0, 1000000),
		block: numberInput(rl.block_seconds, 0, 86400),
		key: h('select', { value: rl.key },
			h('option', { value: 'ip' }, 'Client IP'),
			h('option', { value: 'ip_path' }, 'Client IP and path')),
		action: h('select', { value: rl.action },
			h('option', { value: 'block' }, 'Block (429)'),
			h('option', { value: 'log' }, 'Log only')),
		allow: h('textarea', { rows: '3', class: 'mono', spellcheck: 'false',
			placeholder: '10.0.0.0/8\n2001:db8::/32' }),
		deny: h('textarea', { rows: '3', class: 'mono', spellcheck: 'false',
			placeholder: '203.0.113.0/24' }),
	};
	c.key.value = rl.key;
	c.action.value = rl.action;
	c.allow.value = (a.ip_allow || []).join('\n');
	c.deny.value = (a.ip_deny || []).join('\n');
	const rlFields = h('div', { class: 'rate-fields' },
		field({ label: 'Requests', control: c.requests, name: 'rate_limit.requests' }),
		field({ label: 'Per seconds', control: c.per, name: 'rate_limit.per_seconds' }),
		field({ label: 'Burst', control: c.burst, name: 'rate_limit.burst' }),
		field({ label: 'Count per', control: c.key, name: 'rate_limit.key' }),
		field({ label: 'Block seconds', control: c.block, name: 'rate_limit.block_seconds' }),
		field({ label: 'Action', control: c.action, name: 'rate_limit.action' }));
	const syncRl = () => {
		for (const el of rlFields.querySelectorAll('input, select'))
			el.disabled = !c.on.checked;
		rlFields.classList.toggle('is-off', !c.on.checked);
	};
	c.on.addEventListener('change', syncRl);
	syncRl();
	const section = h('fieldset', { class: 'group firewall-group', id: 'firewall' },
		h('legend', {}, 'Firewall'),
		modes,
		h('div', { class: 'subgroup', 'data-field': 'rate_limit' },
			checkbox(c.on, 'Rate limit', 'A client that sends more than the limit (plus the burst) ' +
				'gets 429 and is refused for the block time.'),
			rlFields,
			h('p', { class: 'field-error', 'data-error-for': 'rate_limit', hidden: true })),
		h('div', { class: 'ip-lists' },
			field({ label: 'IP allow list', control: c.allow, name: 'ip_allow', optional: true,
				hint: 'One CIDR per line. These clients skip the rules and the rate limit.' }),
			field({ label: 'IP deny list', control: c.deny, name: 'ip_deny', optional: true,
				hint: 'One CIDR per line. These clients get 403, before anything else.' })));
	const num = (el) => Number(el.value);
	return {
		section,
		read: () => ({
			waf: section.querySelector('[data-role=waf]:checked').value,
			rate_limit: c.on.checked ? {
				requests: num(c.requests), per_seconds: num(c.per), burst: num(c.burst),
				key: c.key.value, block_seconds: num(c.block), action: c.action.value,
			} : null,
			ip_allow: cidrsOf(c.allow.value),
			ip_deny: cidrsOf(c.deny.value),
		}),
		// [[field, bad, message]] like the required fields in save().
		check: () => {
			if (!c.on.checked)
				return [];
			const whole = (el, min) => /^\d+$/.test(el.value.trim()) && num(el) >= min;
			return [
				['rate_limit.requests', !whole(c.requests, 1), 'A whole number, 1 or more.'],
				['rate_limit.per_seconds', !whole(c.per, 1), 'A whole number of seconds, 1 or more.'],
				['rate_limit.burst', !whole(c.burst, 0), 'A whole number, 0 or more.'],
				['rate_limit.block_seconds', !whole(c.block, 0), 'A whole number of seconds.'],
			];
		},
	};
}
