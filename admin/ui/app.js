// The console shell: sign-in, navigation and hash routing. Each page
// module renders into <main> and may return a cleanup function (timers).
import { signIn, signOut, signedIn, currentUser, onUnauthorized, restoreSession } from './api.js';
import { h, replace, field, formError, showFormError, busy, notify, clearToasts } from './dom.js';
import { renderCertificates } from './certs.js';
import { renderApplications, renderApplicationEditor } from './apps.js';
import { renderStatus, renderAudit, renderAccount, renderFirewall, renderEvents } from './pages.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const sessionBox = document.getElementById('session');

const ROUTES = [
	[/^\/certificates$/, 'certificates', () => renderCertificates(main)],
	[/^\/applications$/, 'applications', () => renderApplications(main)],
	[/^\/applications\/new$/, 'applications', () => renderApplicationEditor(main, null)],
	[/^\/applications\/(\d+)$/, 'applications', (m) => renderApplicationEditor(main, Number(m[1]))],
	[/^\/firewall$/, 'firewall', () => renderFirewall(main)],
	[/^\/events$/, 'events', () => renderEvents(main)],
	[/^\/status$/, 'status', () => renderStatus(main)],
	[/^\/audit$/, 'audit', () => renderAudit(main)],
	[/^\/account$/, 'account', () => renderAccount(main)],
];

const TITLES = {
	certificates: 'Certificates', applications: 'Applications', firewall: 'Firewall',
	events: 'Events', status: 'Status',
	audit: 'Audit log', account: 'Account',
};

let cleanup = null;
let wanted = null; // the route asked for before signing in
let renderCount = 0;

function currentPath() {
	const hash = window.location.hash;
	return hash.startsWith('#/') ? hash.slice(1) : '/certificates';
}

function setShell(visible) {
	nav.hidden = !visible;
	sessionBox.hidden = !visible;
	document.getElementById('session-user').textContent = visible ? currentUser() : '';
}

function markNav(section) {
	for (const a of nav.querySelectorAll('a')) {
		if (a.dataset.nav === section)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	}
}

// Render the page for the current hash; focus its heading so keyboard and
// screen-reader users land on the new content (not on the first load).
async function route() {
	if (cleanup) {
		cleanup();
		cleanup = null;
	}
	if (!signedIn()) {
		renderSignIn();
		return;
	}
	setShell(true);
	const path = currentPath();
	const found = ROUTES.find(([re]) => re.test(path));
	if (!found) {
		window.location.replace('#/certificates');
		return;
	}
	const [re, section, render] = found;
	markNav(section);
	document.title = `${TITLES[section]} · postern`;
	const mine = ++renderCount;
	try {
		const c = await render(path.match(re));
		if (mine === renderCount)
			cleanup = typeof c === 'function' ? c : null;
		else if (typeof c === 'function')
			c();
	} catch (err) {
		if (err.status === 401)
			return;
		replace(main, h('div', { class: 'page-error', role: 'alert' },
			h('h1', { tabindex: '-1' }, 'This page could not be loaded'),
			h('p', {}, err.message)));
	}
	if (mine === renderCount && renderCount > 1) {
		const title = main.querySelector('h1');
		if (title)
			title.focus();
	}
}

function renderSignIn(message) {
	setShell(false);
	markNav(null);
	document.title = 'Sign in · postern';
	if (window.location.hash.startsWith('#/') && !wanted)
		wanted = window.location.hash;
	const user = h('input', {
		type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none',
		spellcheck: 'false',
	});
	const pass = h('input', { type: 'password', autocomplete: 'current-password', required: true });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
	const form = h('form', { class: 'signin-form', novalidate: true },
		field({ label: 'User name', control: user, name: 'username' }),
		field({ label: 'Password', control: pass, name: 'password' }),
		formError(),
		submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!user.value || !pass.value) {
			showFormError(form, 'Enter your user name and password.');
			(user.value ? pass : user).focus();
			return;
		}
		const done = busy(submit, 'Signing in…');
		try {
			await signIn(user.value.trim(), pass.value);
			pass.value = '';
			const target = wanted && wanted !== '#/signin' ? wanted : '#/certificates';
			wanted = null;
			if (window.location.hash === target)
				route();
			else
				window.location.hash = target;
		} catch (err) {
			done();
			showFormError(form, err.message);
			pass.select();
			pass.focus();
		}
	});
	replace(main, h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
		h('div', { class: 'signin-card' },
			h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in'),
			h('p', { class: 'muted' }, 'Manage the certificates and applications of this gateway.'),
			message ? h('p', { class: 'notice notice-info', role: 'status' }, message) : null,
			form)));
	user.focus();
}

async function doSignOut() {
	try {
		await signOut();
	} catch (_) {
		// signed out locally either way
	}
	wanted = null;
	clearToasts();
	if (cleanup) {
		cleanup();
		cleanup = null;
	}
	window.location.hash = '#/signin';
	renderSignIn('You are signed out.');
}

onUnauthorized(() => {
	if (cleanup) {
		cleanup();
		cleanup = null;
	}
	renderSignIn('Your session has ended. Sign in again to go on.');
});

document.getElementById('sign-out').addEventListener('click', doSignOut);
document.getElementById('skip-link').addEventListener('click', (ev) => {
	ev.preventDefault();
	const title = main.querySelector('h1');
	(title || main).focus();
});
window.addEventListener('hashchange', () => {
	if (window.location.hash === '#/signin' && !signedIn())
		return;
	route();
});
window.addEventListener('unhandledrejection', (ev) => {
	const err = ev.reason;
	if (err && err.status !== 401)
		notify(err.message || String(err), 'error');
});

restoreSession().finally(() => {
	document.documentElement.dataset.ready = 'true';
	route();
});
