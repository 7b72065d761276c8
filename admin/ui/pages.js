// Status, audit log and account (password, API tokens). The firewall
// and events pages live in their own modules; they are re-exported here
// with the other pages the router shows.
import { api, currentUser } from './api.js';
import {
	h, replace, badge, formatDateTime, formatDuration, formatNumber, notify, confirmDialog, field,
	setFieldError, clearErrors, formError, showFormError, busy, pageHead, STATUS_ORDER, statusLabel,
	liveClear,
} from './dom.js';

export { renderFirewall } from './waf.js';
export { renderEvents } from './events.js';

function pick(obj, ...keys) {
	for (const k of keys) {
		if (obj && obj[k] !== undefined && obj[k] !== null)
			return obj[k];
	}
	return undefined;
}

function stat(label, value, key) {
	return h('div', { class: 'stat', 'data-stat': key },
		h('dt', { class: 'stat-label' }, label), h('dd', { class: 'stat-value' }, value));
}

function handshakes(s) {
	const total = pick(s, 'tls_handshakes');
	const failed = pick(s, 'tls_handshake_failures');
	if (typeof total !== 'number')
		return '—';
	return h('span', {}, formatNumber(total),
		failed ? h('span', { class: 'stat-sub' }, ` ${formatNumber(failed)} failed`) : null);
}

export async function renderStatus(main) {
	const refreshBtn = h('button', { type: 'button', class: 'btn' }, 'Refresh');
	const body = h('div', { class: 'status-body' });
	replace(main, pageHead('Status', refreshBtn), body);
	const draw = async () => {
		const s = await api('GET', '/status');
		const byStatus = pick(s, 'certificates_by_status') || {};
		const total = Object.values(byStatus).reduce((n, v) => n + (Number(v) || 0), 0);
		const known = STATUS_ORDER.filter((k) => byStatus[k]);
		const other = Object.keys(byStatus).filter((k) => !STATUS_ORDER.includes(k) && byStatus[k]);
		replace(body,
			h('dl', { class: 'stats' },
				stat('Version', pick(s, 'version') || '—', 'version'),
				stat('Uptime', formatDuration(pick(s, 'uptime_s', 'uptime_seconds', 'uptime')),
					'uptime'),
				stat('Workers', formatNumber(pick(s, 'workers')), 'workers'),
				stat('Open connections', formatNumber(pick(s, 'connections', 'open_connections')),
					'connections'),
				stat('Requests served', formatNumber(pick(s, 'requests', 'requests_served')),
					'requests'),
				stat('Applications', formatNumber(pick(s, 'applications')), 'applications'),
				stat('TLS handshakes', handshakes(s), 'tls')),
			h('section', { class: 'card', 'aria-labelledby': 'status-certs' },
				h('h2', { id: 'status-certs' }, 'Certificates by status'),
				total === 0 ? h('p', { class: 'muted' }, 'No certificates yet.') :
					h('ul', { class: 'status-counts' }, [...known, ...other].map((k) =>
						h('li', { 'data-status': k }, badge(k),
							h('span', { class: 'count' }, formatNumber(Number(byStatus[k]))),
							h('span', { class: 'visually-hidden' }, ` ${statusLabel(k)}`)))),
				h('p', {}, h('a', { href: '#/certificates' }, 'Open the certificates'))),
			h('p', { class: 'muted small' }, `Updated ${formatDateTime(Date.now() / 1000)}; ` +
				'refreshes every 10 seconds.'));
	};
	refreshBtn.addEventListener('click', () => draw().catch((e) => notify(e.message, 'error')));
	await draw();
	const timer = setInterval(() => draw().catch(() => {}), 10000);
	return () => clearInterval(timer);
}

export async function renderAudit(main) {
	const data = await api('GET', '/audit');
	const rows = pick(data, 'audit', 'entries', 'events') || [];
	replace(main, pageHead('Audit log'),
		h('p', { class: 'muted' }, 'Every change made through the console, the API or the command ' +
			'line, newest first.'),
		rows.length === 0 ? h('div', { class: 'empty' }, h('p', {}, 'No changes recorded yet.')) :
			h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive table-audit' },
				h('caption', { class: 'visually-hidden' }, 'Audit log'),
				h('thead', {}, h('tr', {}, ['When', 'Who', 'From', 'Action', 'Target', 'Detail']
					.map((t) => h('th', { scope: 'col' }, t)))),
				h('tbody', {}, rows.map((r) => h('tr', {},
					h('td', { 'data-label': 'When' }, formatDateTime(pick(r, 'at', 'time'))),
					h('td', { 'data-label': 'Who' }, pick(r, 'actor', 'who', 'user') || '—'),
					h('td', { 'data-label': 'From' }, pick(r, 'source', 'from', 'address') || '—'),
					h('td', { 'data-label': 'Action' }, h('code', {}, pick(r, 'action') || '—')),
					h('td', { 'data-label': 'Target' }, pick(r, 'target') || '—'),
					h('td', { 'data-label': 'Detail' }, pick(r, 'detail') || '')))))));
}

export async function renderAccount(main) {
	const tokens = h('div', { id: 'token-list' });
	replace(main, pageHead('Account'),
		h('p', { class: 'muted' }, 'Signed in as ', h('strong', {}, currentUser()), '.'),
		h('div', { class: 'cards' }, passwordCard(), tokenCard(tokens)));
	await drawTokens(tokens);
}

function passwordCard() {
	const cur = h('input', { type: 'password', autocomplete: 'current-password' });
	const next = h('input', { type: 'password', autocomplete: 'new-password', minlength: '8' });
	const again = h('input', { type: 'password', autocomplete: 'new-password' });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password');
	const form = h('form', { class: 'form', novalidate: true },
		// For password managers: which account this password belongs to.
		h('input', { type: 'text', autocomplete: 'username', value: currentUser(), readonly: true,
			hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
		field({ label: 'Current password', control: cur, name: 'current_password' }),
		field({ label: 'New password', control: next, name: 'new_password',
			hint: 'At least 8 characters; a few unrelated words make a strong one.' }),
		field({ label: 'New password again', control: again, name: 'confirm' }),
		formError(),
		h('div', { class: 'form-actions' }, submit));
	liveClear(form);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearErrors(form);
		if (!cur.value) {
			setFieldError(form, 'current_password', 'Enter your current password.');
			cur.focus();
			return;
		}
		if (next.value.length < 8) {
			setFieldError(form, 'new_password', 'Use at least 8 characters.');
			next.focus();
			return;
		}
		if (next.value !== again.value) {
			setFieldError(form, 'confirm', 'The two new passwords differ.');
			again.focus();
			return;
		}
		const done = busy(submit, 'Changing…');
		try {
			await api('PUT', '/account/password',
				{ current_password: cur.value, new_password: next.value });
			form.reset();
			notify('Password changed.');
		} catch (err) {
			const name = err.field || (/current/i.test(err.message) || err.status === 403 ?
				'current_password' : (err.status === 400 ? 'new_password' : null));
			if (name)
				setFieldError(form, name, err.message);
			else
				showFormError(form, err.message);
		} finally {
			done();
		}
	});
	return h('section', { class: 'card', 'aria-labelledby': 'pw-title' },
		h('h2', { id: 'pw-title' }, 'Change password'), form);
}

function tokenCard(list) {
	const name = h('input', { type: 'text', autocomplete: 'off', placeholder: 'deploy script',
		maxlength: '64' });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
	const shown = h('div', { id: 'token-shown' });
	const form = h('form', { class: 'form', novalidate: true },
		field({ label: 'Token name', control: name, name: 'name',
			hint: 'What will use it, so you know which one to revoke.' }),
		formError(),
		h('div', { class: 'form-actions' }, submit));
	liveClear(form);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearErrors(form);
		if (!name.value.trim()) {
			setFieldError(form, 'name', 'Give the token a name.');
			name.focus();
			return;
		}
		const done = busy(submit, 'Creating…');
		try {
			const t = await api('POST', '/tokens', { name: name.value.trim() });
			name.value = '';
			showToken(shown, t);
			await drawTokens(list);
		} catch (err) {
			setFieldError(form, 'name', err.message);
		} finally {
			done();
		}
	});
	return h('section', { class: 'card', 'aria-labelledby': 'tok-title' },
		h('h2', { id: 'tok-title' }, 'API tokens'),
		h('p', { class: 'muted' }, 'For scripts: send ', h('code', {}, 'Authorization: Bearer TOKEN'),
			' to the API under /api/v1.'),
		form, shown, list);
}

function showToken(box, t) {
	const value = h('input', { type: 'text', readonly: true, value: t.token || '', class: 'mono',
		id: 'new-token', 'aria-describedby': 'new-token-hint' });
	const copy = h('button', { type: 'button', class: 'btn btn-small' }, 'Copy');
	copy.addEventListener('click', async () => {
		value.select();
		try {
			await navigator.clipboard.writeText(value.value);
			notify('Token copied.');
		} catch (_) {
			notify('Select the token and copy it with the keyboard.', 'error');
		}
	});
	replace(box, h('div', { class: 'notice notice-ok token-once', role: 'status' },
		h('label', { for: 'new-token' }, `Token "${t.name}" created`),
		h('p', { id: 'new-token-hint', class: 'hint' }, 'Copy it now: it is shown only once and ' +
			'postern keeps only its hash.'),
		h('div', { class: 'copy-row' }, value, copy)));
	value.focus();
	value.select();
}

async function drawTokens(box) {
	const data = await api('GET', '/tokens');
	const tokens = pick(data, 'tokens') || [];
	if (tokens.length === 0) {
		replace(box, h('p', { class: 'muted' }, 'No API tokens.'));
		return;
	}
	replace(box, h('table', { class: 'table responsive table-tokens' },
		h('caption', { class: 'visually-hidden' }, 'API tokens'),
		h('thead', {}, h('tr', {}, ['Name', 'Created', 'Last used'].map((t) =>
			h('th', { scope: 'col' }, t)), h('th', { scope: 'col' },
			h('span', { class: 'visually-hidden' }, 'Actions')))),
		h('tbody', {}, tokens.map((t) => h('tr', { 'data-id': t.id },
			h('th', { scope: 'row', 'data-label': 'Name' }, t.name),
			h('td', { 'data-label': 'Created' }, formatDateTime(pick(t, 'created_at', 'created'))),
			h('td', { 'data-label': 'Last used' }, pick(t, 'last_used') ?
				formatDateTime(pick(t, 'last_used')) : 'never'),
			h('td', { 'data-label': 'Actions', class: 'actions' },
				h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet',
					'aria-label': `Revoke token ${t.name}`, onclick: () => revoke(box, t) },
				'Revoke')))))));
}

async function revoke(box, t) {
	const yes = await confirmDialog({
		title: 'Revoke token?',
		message: `Scripts using "${t.name}" get 401 from now on. This cannot be undone.`,
		confirmLabel: 'Revoke token',
	});
	if (!yes)
		return;
	try {
		await api('DELETE', `/tokens/${t.id}`);
		notify(`Token ${t.name} revoked.`);
		await drawTokens(box);
	} catch (err) {
		notify(err.message, 'error');
	}
}
