// The JSON API client (SPEC section 5). The session cookie is HttpOnly, so
// the console keeps only the CSRF token it got at sign-in (in
// sessionStorage: it survives a reload, not the tab) and sends it on every
// mutating request.

const CSRF_KEY = 'postern.csrf';
const USER_KEY = 'postern.user';

let unauthorizedHandler = null;

export class ApiError extends Error {
	constructor(status, code, message, field) {
		super(message);
		this.status = status;
		this.code = code;
		this.field = field || null;
	}
}

export function signedIn() {
	return Boolean(sessionStorage.getItem(CSRF_KEY));
}

export function currentUser() {
	return sessionStorage.getItem(USER_KEY) || '';
}

function forget() {
	sessionStorage.removeItem(CSRF_KEY);
	sessionStorage.removeItem(USER_KEY);
}

// Called when the server says the session is gone (401), so the app can
// show the sign-in page.
export function onUnauthorized(fn) {
	unauthorizedHandler = fn;
}

function errorFrom(status, data) {
	const e = (data && data.error) || {};
	const fallback = status === 0 ? 'The console cannot reach postern; check that it runs.' :
		`postern answered with HTTP ${status}.`;
	return new ApiError(status, e.code || `http_${status}`, e.message || fallback, e.field);
}

// api('GET', '/certificates') -> parsed JSON (null for 204). Throws
// ApiError with the server's code, message and field.
export async function api(method, path, body) {
	const headers = { Accept: 'application/json' };
	const csrf = sessionStorage.getItem(CSRF_KEY);
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && csrf)
		headers['X-CSRF-Token'] = csrf;
	let res;
	try {
		res = await fetch(`/api/v1${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch (_) {
		throw errorFrom(0, null);
	}
	const text = await res.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch (_) {
			data = null;
		}
	}
	if (!res.ok) {
		const err = errorFrom(res.status, data);
		// 401: the session ended; 403 csrf_failed: this tab's token is
		// stale. Either way a fresh sign-in fixes it.
		const ended = res.status === 401 || (res.status === 403 && err.code === 'csrf_failed');
		if (ended && path !== '/session') {
			forget();
			if (unauthorizedHandler)
				unauthorizedHandler(err);
		}
		throw err;
	}
	return data;
}

export async function signIn(username, password) {
	const data = await api('POST', '/session', { username, password });
	if (!data || typeof data.csrf_token !== 'string')
		throw new ApiError(500, 'bad_response', 'postern did not return a session token.');
	sessionStorage.setItem(CSRF_KEY, data.csrf_token);
	sessionStorage.setItem(USER_KEY, data.username || data.user || username);
}

// A new tab of a browser that has a session cookie: ask the server for the
// session's CSRF token. Resolves true when signed in.
export async function restoreSession() {
	if (signedIn())
		return true;
	const res = await fetch('/api/v1/session', {
		headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
	}).catch(() => null);
	if (!res || !res.ok)
		return false;
	const data = await res.json().catch(() => null);
	if (!data || typeof data.csrf_token !== 'string')
		return false;
	sessionStorage.setItem(CSRF_KEY, data.csrf_token);
	sessionStorage.setItem(USER_KEY, data.user || '');
	return true;
}

export async function signOut() {
	try {
		await api('DELETE', '/session');
	} finally {
		forget();
	}
}
