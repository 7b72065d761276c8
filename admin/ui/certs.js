// Certificates page: the table (sort, filter, details on expand), the add
// dialog with its three sources, replace, delete, chain and test-CA
// downloads.
import { api } from './api.js';
import {
	h, replace, uid, badge, formatDate, formatDateTime, notify, openDialog, confirmDialog,
	field, setFieldError, clearErrors, formError, showFormError, busy, pageHead, statusLabel,
	STATUS_ORDER, liveClear,
} from './dom.js';

const COLUMNS = [
	{ key: 'domain', label: 'Domain' },
	{ key: 'name', label: 'Name' },
	{ key: 'subject_cn', label: 'Subject CN' },
	{ key: 'issued_on', label: 'Issued On' },
	{ key: 'expires_on', label: 'Expires On' },
	{ key: 'status', label: 'Status' },
	{ key: 'deployed', label: 'Deployed' },
];

const SOURCES = [
	{ value: 'acme', label: "Let's Encrypt", submit: 'Order certificate' },
	{ value: 'user', label: 'User Provided', submit: 'Upload certificate' },
	{ value: 'self_signed', label: 'Self-Signed', submit: 'Create self-signed' },
];

// What a server error code means for the upload form: which field it
// belongs to when the server did not say.
const CODE_FIELD = {
	invalid_domain: 'domain', conflict: 'domain', encrypted_key: 'private_key',
	key_mismatch: 'private_key', chain_mismatch: 'ca_certificate', unsupported_key: 'certificate',
	invalid_sans: 'sans',
};

const view = { certs: [], sort: 'domain', dir: 1, filter: '', open: new Set(), flash: null };

export async function loadCertificates() {
	const data = await api('GET', '/certificates');
	return (data && data.certificates) || [];
}

export async function renderCertificates(main) {
	view.certs = await loadCertificates();
	const addBtn = h('button', { type: 'button', class: 'btn btn-primary', onclick: openAddDialog },
		'Add certificate');
	const caBtn = h('button', { type: 'button', class: 'btn', onclick: openTestCaDialog },
		'Test CA');
	const filter = h('input', {
		type: 'search', id: 'cert-filter', class: 'filter-input', value: view.filter,
		placeholder: 'Domain, name, status…', autocomplete: 'off',
	});
	filter.addEventListener('input', () => {
		view.filter = filter.value;
		drawTable();
	});
	const sortSel = h('select', { id: 'cert-sort', class: 'sort-select' },
		COLUMNS.flatMap((c) => [
			h('option', { value: `${c.key}:1` }, `${c.label}, ascending`),
			h('option', { value: `${c.key}:-1` }, `${c.label}, descending`)]));
	sortSel.value = `${view.sort}:${view.dir}`;
	sortSel.addEventListener('change', () => {
		const [key, dir] = sortSel.value.split(':');
		view.sort = key;
		view.dir = Number(dir);
		drawTable();
	});
	replace(main,
		pageHead('Certificates', caBtn, addBtn),
		h('div', { class: 'toolbar' },
			h('label', { for: 'cert-filter', class: 'toolbar-label' }, 'Filter'),
			filter,
			h('div', { class: 'toolbar narrow-only' },
				h('label', { for: 'cert-sort', class: 'toolbar-label' }, 'Sort by'), sortSel),
			h('p', { class: 'toolbar-count muted', id: 'cert-count', 'aria-live': 'polite' })),
		h('div', { id: 'cert-table', class: 'table-wrap' }));
	drawTable();
	const timer = setInterval(refreshQuietly, 30000);
	return () => clearInterval(timer);
}

async function refresh() {
	view.certs = await loadCertificates();
	drawTable();
}

async function refreshQuietly() {
	try {
		if (!document.querySelector('dialog[open]'))
			await refresh();
	} catch (_) {
		// shown on the next explicit action
	}
}

function matches(c, q) {
	if (!q)
		return true;
	const hay = [c.domain, c.name, c.subject_cn, c.status, statusLabel(c.status), c.issuer_cn,
		...(c.sans || [])].join(' ').toLowerCase();
	return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

function sortValue(c, key) {
	if (key === 'status')
		return STATUS_ORDER.indexOf(c.status);
	if (key === 'deployed')
		return c.deployed ? 0 : 1;
	return (c[key] || '').toString().toLowerCase();
}

function sorted(list) {
	const { sort, dir } = view;
	return [...list].sort((a, b) => {
		const x = sortValue(a, sort);
		const y = sortValue(b, sort);
		if (x < y)
			return -dir;
		if (x > y)
			return dir;
		return a.id - b.id;
	});
}

function headerCell(col) {
	const active = view.sort === col.key;
	const dirWord = view.dir > 0 ? 'ascending' : 'descending';
	const btn = h('button', {
		type: 'button', class: 'sort-btn', 'data-sort': col.key,
		onclick: () => {
			view.dir = active ? -view.dir : 1;
			view.sort = col.key;
			drawTable();
			document.querySelector(`.sort-btn[data-sort="${col.key}"]`).focus();
		},
	}, col.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' },
		active ? (view.dir > 0 ? '▲' : '▼') : '↕'));
	return h('th', { scope: 'col', 'aria-sort': active ? dirWord : 'none' }, btn);
}

function drawTable() {
	const box = document.getElementById('cert-table');
	if (!box)
		return;
	const shown = sorted(view.certs.filter((c) => matches(c, view.filter)));
	const sortSel = document.getElementById('cert-sort');
	if (sortSel)
		sortSel.value = `${view.sort}:${view.dir}`;
	const count = document.getElementById('cert-count');
	count.textContent = view.filter ? `${shown.length} of ${view.certs.length} shown` :
		`${view.certs.length} certificate${view.certs.length === 1 ? '' : 's'}`;
	if (view.certs.length === 0) {
		replace(box, h('div', { class: 'empty' },
			h('p', { class: 'empty-title' }, 'No certificates yet'),
			h('p', { class: 'muted' }, 'Upload your own, order one from Let\'s Encrypt, or make a ' +
				'self-signed test certificate in one click.'),
			h('button', { type: 'button', class: 'btn btn-primary', onclick: openAddDialog },
				'Add certificate')));
		return;
	}
	const rows = [];
	for (const c of shown) {
		rows.push(certRow(c));
		if (view.open.has(c.id))
			rows.push(detailRow(c));
	}
	if (shown.length === 0)
		rows.push(h('tr', {}, h('td', { colspan: '8', class: 'empty-row' },
			'No certificate matches the filter.')));
	replace(box, h('table', { class: 'table table-certs responsive' },
		h('caption', { class: 'visually-hidden' }, 'Certificates; the column buttons sort the table'),
		h('thead', {}, h('tr', {}, COLUMNS.map(headerCell),
			h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
		h('tbody', {}, rows)));
	view.flash = null;
}

function toggle(c) {
	if (view.open.has(c.id))
		view.open.delete(c.id);
	else
		view.open.add(c.id);
	drawTable();
	const again = document.querySelector(`tr[data-id="${c.id}"] .expand-btn`);
	if (again)
		again.focus();
}

function certRow(c) {
	const open = view.open.has(c.id);
	const detailId = `cert-detail-${c.id}`;
	const expand = h('button', {
		type: 'button', class: 'expand-btn', 'aria-expanded': open ? 'true' : 'false',
		'aria-controls': detailId, onclick: () => toggle(c),
	}, h('span', { class: 'chevron', 'aria-hidden': 'true' }, open ? '▾' : '▸'),
	h('span', { class: 'domain-text' }, breakable(c.domain)));
	const statusBtn = h('button', {
		type: 'button', class: 'status-btn', 'aria-expanded': open ? 'true' : 'false',
		'aria-controls': detailId, title: c.status_detail || statusLabel(c.status),
		'aria-label': `Status ${statusLabel(c.status)}: show details`, onclick: () => toggle(c),
	}, badge(c.status));
	const actions = [
		c.source === 'user' ? h('button', {
			type: 'button', class: 'btn btn-small', onclick: () => openReplaceDialog(c),
			'aria-label': `Replace certificate of ${c.domain}`,
		}, 'Replace') : null,
		c.source === 'acme' ? h('button', {
			type: 'button', class: 'btn btn-small', onclick: () => renew(c),
			'aria-label': `Renew certificate of ${c.domain} now`,
		}, 'Renew') : null,
		h('button', {
			type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => remove(c),
			'aria-label': `Delete certificate of ${c.domain}`,
		}, 'Delete'),
	];
	return h('tr', {
		'data-id': c.id, 'data-domain': c.domain,
		class: `${open ? 'is-open' : ''} ${view.flash === c.id ? 'flash' : ''}`,
	},
	h('th', { scope: 'row', 'data-label': 'Domain', 'data-col': 'domain' }, expand),
	h('td', { 'data-label': 'Name', 'data-col': 'name' }, c.name),
	h('td', { 'data-label': 'Subject CN', 'data-col': 'subject_cn' }, c.subject_cn || '—'),
	dateCell('Issued On', 'issued_on', c.issued_on),
	dateCell('Expires On', 'expires_on', c.expires_on),
	h('td', { 'data-label': 'Status', 'data-col': 'status' }, statusBtn),
	h('td', { 'data-label': 'Deployed', 'data-col': 'deployed' }, c.deployed ?
		h('span', { class: 'check', title: 'Serving handshakes' }, '✓',
			h('span', { class: 'visually-hidden' }, ' deployed')) :
		h('span', { class: 'muted' }, h('span', { 'aria-hidden': 'true' }, '—'),
			h('span', { class: 'visually-hidden' }, 'not deployed'))),
	h('td', { 'data-label': 'Actions', class: 'actions' }, actions));
}

// A domain name that wraps only after its dots.
function breakable(name) {
	return name.split('.').flatMap((part, i) => (i ? ['.', h('wbr', {}), part] : [part]));
}

function dateCell(label, col, t) {
	return h('td', { 'data-label': label, 'data-col': col },
		t ? h('time', { datetime: t, title: formatDateTime(t) }, formatDate(t)) : '—');
}

function detailRow(c) {
	const r = c.renewal || {};
	const items = [
		['Status', h('span', {}, badge(c.status), ' ', c.status_detail || describeStatus(c.status))],
		['Names (SAN)', (c.sans && c.sans.length) ? c.sans.join(', ') : '—'],
		['Issuer', c.issuer_cn || '—'],
		['Key', c.key_type || '—'],
		['Valid', `${formatDateTime(c.issued_on)} to ${formatDateTime(c.expires_on)}`],
		['SHA-256 fingerprint', h('code', { class: 'wrap' }, c.fingerprint_sha256 || '—')],
		['Source', `${c.name} (${c.source}), certificate #${c.id}`],
	];
	if (c.source === 'acme') {
		items.push(['Renewal', r.auto ? 'automatic' : 'manual']);
		if (r.next_attempt)
			items.push(['Next attempt', formatDateTime(r.next_attempt)]);
		if (r.last_error)
			items.push(['Last error', r.last_error]);
	}
	return h('tr', { class: 'detail-row', id: `cert-detail-${c.id}` },
		h('td', { colspan: '8' }, h('dl', { class: 'details' },
			items.map(([k, v]) => h('div', { class: 'details-item' }, h('dt', {}, k), h('dd', {}, v)))),
		h('div', { class: 'detail-actions' },
			c.issued_on ? h('a', {
				class: 'btn btn-small', href: `/api/v1/certificates/${c.id}/chain.pem`,
				download: `${c.domain.replace(/\*/g, '_wildcard')}-chain.pem`,
			}, 'Download chain (PEM)') : null)));
}

function describeStatus(status) {
	return {
		ok: 'Valid now and covers its domain.',
		expiring: 'Expires soon: replace or renew it.',
		expired: 'No longer valid.',
		not_yet_valid: 'Its validity has not started yet.',
		domain_mismatch: 'Neither its subject CN nor any SAN covers the domain.',
		pending: 'Issuance in progress.',
		awaiting_dns: 'The domain does not reach this gateway yet: point its DNS here.',
		failed: 'Issuance failed.',
	}[status] || '';
}

async function renew(c) {
	try {
		await api('POST', `/certificates/${c.id}/renew`);
		notify(`Renewal of ${c.domain} started.`);
		await refresh();
	} catch (err) {
		notify(err.message, 'error');
	}
}

async function remove(c) {
	const yes = await confirmDialog({
		title: 'Delete certificate?',
		message: `The certificate for ${c.domain} (${c.name}) is deleted and stops serving new ` +
			'handshakes within a second. This cannot be undone.',
		confirmLabel: 'Delete certificate',
	});
	if (!yes)
		return;
	try {
		await api('DELETE', `/certificates/${c.id}`);
		view.open.delete(c.id);
		notify(`Certificate for ${c.domain} deleted.`);
		await refresh();
		const heading = document.querySelector('main h1');
		if (heading)
			heading.focus();
	} catch (err) {
		notify(err.message, 'error');
	}
}

// A PEM text area with a file picker that fills it.
function pemField(name, label, hint, optional) {
	const area = h('textarea', {
		rows: '5', spellcheck: 'false', autocomplete: 'off', class: 'mono',
		placeholder: `-----BEGIN ${name === 'private_key' ? 'PRIVATE KEY' : 'CERTIFICATE'}-----`,
	});
	const fileId = uid(`file-${name}`);
	const picker = h('input', {
		type: 'file', id: fileId, class: 'file-input', 'data-file-for': name,
		accept: '.pem,.crt,.cer,.key,.txt,application/x-pem-file',
	});
	picker.addEventListener('change', async () => {
		const f = picker.files && picker.files[0];
		if (!f)
			return;
		if (f.size > 1024 * 1024) {
			notify(`${f.name} is larger than 1 MiB; pick the PEM file.`, 'error');
			return;
		}
		area.value = await f.text();
		area.dispatchEvent(new Event('input'));
	});
	const box = field({ label, control: area, hint, name, optional });
	box.classList.add('field-pem');
	// The picker sits on the label's line, right-aligned.
	box.insertBefore(h('div', { class: 'file-row' }, picker,
		h('label', { for: fileId, class: 'btn btn-small file-label' }, 'Load from file…')),
	box.children[1]);
	return box;
}

// Map an ApiError onto the form: under its field when known, else on top.
function showApiError(form, err) {
	const name = (err.field && err.field.split(/[[.]/)[0]) || CODE_FIELD[err.code] ||
		(/domain/i.test(err.message) && err.status === 400 ? 'domain' : null);
	const control = name ? setFieldError(form, name, err.message) : null;
	if (control && !control.closest('[hidden]')) {
		control.focus();
		return;
	}
	showFormError(form, err.message);
}

function splitNames(s) {
	return s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}

function openAddDialog() {
	openDialog({
		title: 'Add certificate',
		wide: true,
		focus: 'input[name="domain"]',
		build: buildAddForm,
	});
}

function sourcePicker(onChange) {
	const name = uid('source');
	return h('fieldset', { class: 'segmented' },
		h('legend', {}, 'Source'),
		SOURCES.map((s, i) => {
			const id = `${name}-${s.value}`;
			const radio = h('input', {
				type: 'radio', name, id, value: s.value, checked: i === 0,
				onchange: () => onChange(s.value),
			});
			return h('div', { class: 'segment' }, radio, h('label', { for: id }, s.label));
		}));
}

function buildAddForm(body, close) {
	const domain = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false',
		placeholder: 'www.example.com' });
	const sans = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false',
		placeholder: 'api.example.test, *.example.test' });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, SOURCES[0].submit);
	const panels = {
		acme: h('div', { class: 'panel', 'data-panel': 'acme' },
			h('p', { class: 'notice notice-info' }, 'postern orders the certificate from Let\'s ' +
				'Encrypt (ACME, HTTP-01) and renews it by itself. The domain\'s DNS must point at ' +
				'this gateway and port 80 must reach it; until then the status shows Awaiting DNS.')),
		user: h('div', { class: 'panel', 'data-panel': 'user', hidden: true },
			pemField('certificate', 'Certificate', 'The server certificate in PEM; it may be ' +
				'followed by its intermediates.'),
			pemField('private_key', 'Private key', 'PEM, not passphrase-protected. It is encrypted ' +
				'before it is stored and never shown again.'),
			pemField('ca_certificate', 'CA certificate', 'The issuing CA (and intermediates) in ' +
				'PEM.', true)),
		self_signed: h('div', { class: 'panel', 'data-panel': 'self_signed', hidden: true },
			field({ label: 'Extra names', control: sans, name: 'sans', optional: true,
				hint: 'Separated by commas or spaces. The certificate is issued by this ' +
					'instance\'s test CA, ECDSA P-256, valid 365 days.' })),
	};
	let source = 'acme';
	const form = h('form', { class: 'form', novalidate: true },
		sourcePicker((v) => {
			source = v;
			for (const [k, p] of Object.entries(panels))
				p.hidden = k !== v;
			submit.textContent = SOURCES.find((s) => s.value === v).submit;
			clearErrors(form);
		}),
		field({ label: 'Domain', control: domain, name: 'domain',
			hint: 'The name this certificate is for; a wildcard such as *.example.com works too.' }),
		Object.values(panels),
		formError(),
		h('div', { class: 'dialog-actions' },
			h('button', { type: 'button', class: 'btn', onclick: close }, 'Cancel'), submit));
	liveClear(form);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearErrors(form);
		const req = { domain: domain.value.trim(), source };
		if (!req.domain) {
			setFieldError(form, 'domain', 'Enter the domain this certificate is for.');
			domain.focus();
			return;
		}
		if (source === 'self_signed' && sans.value.trim())
			req.sans = splitNames(sans.value);
		if (source === 'user' && !readPems(form, req))
			return;
		const done = busy(submit, 'Working…');
		try {
			const cert = await api('POST', '/certificates', req);
			close();
			notify(`Certificate for ${req.domain} added.`);
			view.flash = cert && cert.id;
			await refresh();
		} catch (err) {
			done();
			showApiError(form, err);
		}
	});
	body.append(form);
}

// Copy the PEM fields into req; returns false (with errors shown) when a
// required one is empty.
function readPems(form, req) {
	const get = (n) => form.querySelector(`textarea[name="${n}"]`).value.trim();
	let ok = true;
	for (const [n, msg] of [['certificate', 'Paste the certificate or load its file.'],
		['private_key', 'Paste the private key or load its file.']]) {
		req[n] = get(n);
		if (!req[n]) {
			if (ok)
				form.querySelector(`textarea[name="${n}"]`).focus();
			setFieldError(form, n, msg);
			ok = false;
		}
	}
	if (get('ca_certificate'))
		req.ca_certificate = get('ca_certificate');
	return ok;
}

function openReplaceDialog(c) {
	openDialog({
		title: `Replace certificate for ${c.domain}`,
		wide: true,
		build(body, close) {
			const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Replace');
			const form = h('form', { class: 'form', novalidate: true },
				h('p', { class: 'muted' }, 'The new certificate serves new handshakes within a ' +
					'second; open connections are not dropped.'),
				pemField('certificate', 'Certificate', 'The new server certificate in PEM.'),
				pemField('private_key', 'Private key', 'PEM, not passphrase-protected.'),
				pemField('ca_certificate', 'CA certificate', 'The issuing CA in PEM.', true),
				formError(),
				h('div', { class: 'dialog-actions' },
					h('button', { type: 'button', class: 'btn', onclick: close }, 'Cancel'), submit));
			liveClear(form);
	form.addEventListener('submit', async (ev) => {
				ev.preventDefault();
				clearErrors(form);
				const req = {};
				if (!readPems(form, req))
					return;
				const done = busy(submit, 'Replacing…');
				try {
					await api('PUT', `/certificates/${c.id}`, req);
					close();
					notify(`Certificate for ${c.domain} replaced.`);
					view.flash = c.id;
					await refresh();
				} catch (err) {
					done();
					showApiError(form, err);
				}
			});
			body.append(form);
		},
	});
}

function openTestCaDialog() {
	openDialog({
		title: 'Trust the test CA',
		wide: true,
		focus: '.btn-primary',
		build(body, close) {
			body.append(
				h('p', {}, 'Self-signed certificates from postern are issued by this instance\'s ' +
					'test CA. Trust it once in a test browser and every self-signed certificate ' +
					'it issues is trusted from then on.'),
				h('p', {}, h('a', {
					class: 'btn btn-primary', href: '/api/v1/test-ca.pem',
					download: 'postern-test-ca.pem',
				}, 'Download test-ca.pem')),
				h('ol', { class: 'steps' },
					h('li', {}, h('strong', {}, 'Chrome, Edge: '), 'Settings → Privacy and security ' +
						'→ Security → Manage certificates → Authorities (or "Trusted Root ' +
						'Certification Authorities") → Import, then tick "Trust this certificate ' +
						'for identifying websites".'),
					h('li', {}, h('strong', {}, 'Firefox: '), 'Settings → Privacy & Security → ' +
						'Certificates → View Certificates → Authorities → Import, then tick ' +
						'"Trust this CA to identify websites".'),
					h('li', {}, h('strong', {}, 'macOS (Safari): '), 'open the file in Keychain ' +
						'Access, then set the certificate to "Always Trust".'),
					h('li', {}, h('strong', {}, 'Debian, Ubuntu: '), 'copy it to ',
						h('code', {}, '/usr/local/share/ca-certificates/postern-test-ca.crt'),
						' and run ', h('code', {}, 'update-ca-certificates'), '.')),
				h('p', { class: 'notice notice-warn' }, 'Trust it only on test machines: whoever ' +
					'holds this instance\'s database can issue certificates for any name with it.'),
				h('div', { class: 'dialog-actions' },
					h('button', { type: 'button', class: 'btn', onclick: close }, 'Close')));
		},
	});
}
