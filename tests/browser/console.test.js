// The console in headless Chromium against the real postern daemon: what
// an administrator does, step by step, each check one TAP line.
// Screenshots (1280 px and 390 px wide) go to tests/browser/artifacts/.
// The firewall checks come from waf.test.js and share this Tap, so the
// output is one TAP stream with one plan line at the end.
'use strict';

const fs = require('fs');
const { Tap, startPostern, Pki, launchBrowser, artifact } = require('./lib');
const { runFirewall } = require('./waf.test');

const PASSWORD = 'correct horse battery';
const t = new Tap();
const problems = []; // console errors, page errors, CSP violations

function watch(page) {
	page.on('console', (m) => {
		// Failed requests are logged by Chromium itself; the tests cause
		// several on purpose (a wrong password, a bad upload).
		if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
			problems.push(`console: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
}

async function shot(page, name) {
	await page.screenshot({ path: artifact(`${name}.png`), fullPage: true });
}

function row(page, domain) {
	return page.locator(`#cert-table tr[data-domain="${domain}"]`);
}

// The text of one column of a certificate's row (the domain without the
// expand chevron).
async function cell(page, domain, col) {
	const c = row(page, domain).locator(`[data-col="${col}"]`);
	const inner = col === 'domain' ? c.locator('.domain-text') : c;
	return (await inner.innerText()).trim();
}

async function openAdd(page, source) {
	await page.getByRole('button', { name: 'Add certificate' }).first().click();
	await page.locator('dialog[open]').waitFor();
	await page.locator('dialog[open] .segment label', { hasText: source }).click();
}

async function upload(page, domain, files) {
	await openAdd(page, 'User Provided');
	const dlg = page.locator('dialog[open]');
	await dlg.locator('input[name="domain"]').fill(domain);
	await dlg.locator('input[data-file-for="certificate"]').setInputFiles(files.cert);
	await dlg.locator('input[data-file-for="private_key"]').setInputFiles(files.key);
	if (files.ca)
		await dlg.locator('textarea[name="ca_certificate"]').fill(fs.readFileSync(files.ca, 'utf8'));
	// the file pickers fill the text areas
	await page.waitForFunction(() => {
		const a = document.querySelector('dialog[open] textarea[name="private_key"]');
		return a && a.value.includes('PRIVATE KEY');
	});
	await dlg.getByRole('button', { name: 'Upload certificate' }).click();
}

async function signIn(page, base, password) {
	await page.goto(`${base}/`);
	await page.getByLabel('User name').fill('admin');
	await page.getByLabel('Password', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

async function testSignIn(page, base) {
	const resp = await page.goto(`${base}/`);
	const csp = resp.headers()['content-security-policy'] || '';
	t.ok(/script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp),
		'the console is served with a CSP that allows only its own scripts', csp);
	await page.getByRole('heading', { name: 'Sign in' }).waitFor();
	t.ok(await page.getByLabel('User name').isVisible(),
		'sign-in page shows a labelled user name field');
	await page.getByLabel('User name').fill('admin');
	await page.getByLabel('Password', { exact: true }).fill('wrong password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	const err = page.locator('.signin .form-error');
	await err.waitFor({ state: 'visible' });
	t.ok((await err.innerText()).length > 0, 'a wrong password shows an error on the sign-in form',
		await err.innerText());
	await signIn(page, base, PASSWORD);
	await page.getByRole('heading', { name: 'Certificates' }).waitFor();
	t.eq((await page.locator('#session-user').innerText()).trim(), 'admin',
		'after sign-in the header names the user and the certificates page shows');
}

async function testSelfSigned(page) {
	await openAdd(page, 'Self-Signed');
	const dlg = page.locator('dialog[open]');
	await dlg.getByLabel('Domain').fill('selfsigned.test');
	await dlg.getByLabel(/Extra names/).fill('alt.selfsigned.test');
	await dlg.getByRole('button', { name: 'Create self-signed' }).click();
	await row(page, 'selfsigned.test').waitFor();
	t.ok(!(await page.locator('dialog[open]').count()), 'the add dialog closes after creating');
	t.eq(await cell(page, 'selfsigned.test', 'name'), 'Self-Signed',
		'the self-signed certificate is listed with the name Self-Signed');
	t.eq(await cell(page, 'selfsigned.test', 'status'), 'OK', 'the self-signed certificate is OK');
	t.ok((await cell(page, 'selfsigned.test', 'deployed')).includes('✓'),
		'the self-signed certificate is deployed (check mark)');
}

async function testUpload(page, pki) {
	const files = { ...pki.leaf('upload', 'upload.test', ['upload.test', 'www.upload.test'], 'rootca'),
		ca: pki.p('rootca.pem') };
	const { issued, expires } = pki.dates(files.cert);
	await upload(page, 'upload.test', files);
	await row(page, 'upload.test').waitFor();
	const want = {
		domain: 'upload.test', name: 'User Provided', subject_cn: 'upload.test',
		issued_on: issued, expires_on: expires, status: 'OK',
	};
	for (const [col, value] of Object.entries(want))
		t.eq(await cell(page,
			'upload.test', col), value, `uploaded certificate: column ${col} is right`);
	t.ok((await cell(page, 'upload.test', 'deployed')).includes('✓'),
		'uploaded certificate: Deployed shows a check mark');
	const badge = row(page, 'upload.test').locator('.badge');
	t.ok(await badge.evaluate((b) => b.classList.contains('badge-green')), 'the OK badge is green');
	return files;
}

async function testMismatch(page, pki, good) {
	const other = pki.leaf('other', 'other.test', ['other.test'], 'rootca');
	await upload(page, 'mismatch-key.test', { cert: good.cert, key: other.key, ca: good.ca });
	const err = page.locator('dialog[open] [data-error-for="private_key"]');
	await err.waitFor({ state: 'visible' });
	const text = await err.innerText();
	t.ok(/private key/i.test(text),
		'a mismatched key shows the server error under the private key field',
		text);
	t.eq(await page.locator('dialog[open] textarea[name="private_key"]').getAttribute('aria-invalid'),
		'true', 'the private key field is marked invalid');
	t.ok(await page.locator('dialog[open] [data-error-for="certificate"]').isHidden(),
		'no error is shown under the certificate field');
	await shot(page, 'cert-upload-error-1280');
	await page.keyboard.press('Escape');
	t.eq(await page.locator('dialog[open]').count(), 0, 'Escape closes the dialog');
	t.eq(await row(page,
		'mismatch-key.test').count(), 0, 'nothing was stored for the failed upload');
}

async function testBadges(page, pki) {
	const expired = pki.expiredLeaf('expired', 'expired.test', 'rootca');
	await upload(page, 'expired.test', { ...expired, ca: pki.p('rootca.pem') });
	await row(page, 'expired.test').waitFor();
	const b1 = row(page, 'expired.test').locator('.badge');
	t.eq((await b1.innerText()).trim(), 'Expired', 'an expired upload shows the Expired badge');
	t.ok(await b1.evaluate((b) => b.classList.contains('badge-red')), 'the Expired badge is red');
	t.eq(await cell(page,
		'expired.test', 'expires_on'), '2021-01-01', 'the expired certificate shows its end date');

	const elsewhere = pki.leaf('elsewhere', 'elsewhere.test', ['elsewhere.test'], 'rootca');
	await upload(page, 'mismatch.test', { ...elsewhere, ca: pki.p('rootca.pem') });
	await row(page, 'mismatch.test').waitFor();
	const b2 = row(page, 'mismatch.test').locator('.badge');
	t.eq((await b2.innerText()).trim(), 'Domain mismatch',
		'a certificate for another name shows the Domain mismatch badge');
	t.ok(await b2.evaluate((b) => b.classList.contains('badge-orange')),
		'the Domain mismatch badge is orange');
	t.eq(await cell(page,
		'mismatch.test', 'subject_cn'), 'elsewhere.test', 'its Subject CN is the other name');

	await row(page, 'mismatch.test').locator('.status-btn').click();
	const detail = page.locator('#cert-table tr.detail-row');
	await detail.waitFor();
	t.ok((await detail.innerText()).includes('elsewhere.test'),
		'clicking the badge expands the row with the status detail and names');
	t.eq(await row(page,
		'mismatch.test').locator('.expand-btn').getAttribute('aria-expanded'), 'true',
		'the expanded row says so to assistive technology (aria-expanded)');
}

async function testReplace(page, pki) {
	const fixed = pki.leaf('fixed', 'mismatch.test', ['mismatch.test'], 'rootca');
	await row(page, 'mismatch.test').getByRole('button', { name: /Replace/ }).click();
	const dlg = page.locator('dialog[open]');
	await dlg.locator('input[data-file-for="certificate"]').setInputFiles(fixed.cert);
	await dlg.locator('input[data-file-for="private_key"]').setInputFiles(fixed.key);
	await page.waitForFunction(() => {
		const a = document.querySelector('dialog[open] textarea[name="private_key"]');
		return a && a.value.includes('PRIVATE KEY');
	});
	await dlg.getByRole('button', { name: 'Replace', exact: true }).click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
	await page.waitForFunction(() => {
		const r = document.querySelector('#cert-table tr[data-domain="mismatch.test"] .badge');
		return r && r.textContent === 'OK';
	});
	t.eq(await cell(page, 'mismatch.test', 'subject_cn'), 'mismatch.test',
		'replacing a certificate (PUT) updates its row and status');
}

async function testSortFilter(page) {
	await page.locator('.sort-btn[data-sort="expires_on"]').click();
	const first = await page.locator('#cert-table tbody tr[data-domain]')
		.first().getAttribute('data-domain');
	t.eq(first, 'expired.test', 'sorting by Expires On puts the expired certificate first');
	t.eq(await page.locator('th:has(.sort-btn[data-sort="expires_on"])').getAttribute('aria-sort'),
		'ascending', 'the sorted column header has aria-sort');
	await page.locator('.sort-btn[data-sort="expires_on"]').click();
	const last = await page.locator('#cert-table tbody tr[data-domain]')
		.last().getAttribute('data-domain');
	t.eq(last, 'expired.test', 'a second click sorts descending');
	await page.getByLabel('Filter').fill('upload');
	const shown = await page.locator('#cert-table tbody tr[data-domain]').evaluateAll(
		(rows) => rows.map((r) => r.dataset.domain));
	t.eq(JSON.stringify(shown), JSON.stringify(['upload.test']),
		'the filter box narrows the table');
	await page.getByLabel('Filter').fill('');
}

async function testDownloads(page) {
	const expand = row(page, 'upload.test').locator('.expand-btn');
	await expand.click();
	const detail = page.locator(`#${await expand.getAttribute('aria-controls')}`);
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		detail.getByRole('link', { name: /Download chain/ }).click(),
	]);
	const chain = fs.readFileSync(await download.path(), 'utf8');
	t.ok(chain.includes('BEGIN CERTIFICATE') && !chain.includes('PRIVATE KEY'),
		'Download chain gives the PEM chain and no key');
	await row(page, 'upload.test').locator('.expand-btn').click();

	const caButton = page.getByRole('button', { name: 'Test CA' });
	await caButton.click();
	const dlg = page.locator('dialog[open]');
	t.ok((await dlg.innerText()).includes('Firefox'),
		'the test CA dialog explains how to trust it');
	const [caDownload] = await Promise.all([
		page.waitForEvent('download'),
		dlg.getByRole('link', { name: /test-ca\.pem/ }).click(),
	]);
	const ca = fs.readFileSync(await caDownload.path(), 'utf8');
	t.ok(ca.startsWith('-----BEGIN CERTIFICATE-----'), 'the test CA downloads as PEM');
	await shot(page, 'test-ca-dialog-1280');
	await page.keyboard.press('Escape');
	t.ok(await caButton.evaluate((b) => b === document.activeElement),
		'closing a dialog gives focus back to the button that opened it');
}

async function testKeyboard(page) {
	const add = page.getByRole('button', { name: 'Add certificate' }).first();
	await add.focus();
	await page.keyboard.press('Enter');
	await page.locator('dialog[open]').waitFor();
	const focused = await page.evaluate(() => document.activeElement.getAttribute('name'));
	t.eq(focused,
		'domain', 'opening the add dialog with the keyboard puts focus on the domain field');
	await page.keyboard.press('Shift+Tab');
	await page.keyboard.press('ArrowRight'); // radio group: next source
	const src = await page.evaluate(() =>
		document.querySelector('dialog[open] input[type=radio]:checked').value);
	t.eq(src, 'user', 'the source radios work with the arrow keys');
	t.ok(await page.locator('dialog[open] textarea[name="certificate"]').isVisible(),
		'choosing User Provided shows the PEM fields');
	await shot(page, 'cert-add-dialog-1280');
	await page.keyboard.press('Escape');
	t.ok(await add.evaluate((b) => b === document.activeElement),
		'Escape returns focus to Add certificate');
}

async function testApplication(page, base) {
	await page.goto(`${base}/#/applications`);
	await page.getByRole('heading', { name: 'Applications' }).waitFor();
	await page.getByRole('link', { name: 'New application' }).first().click();
	await page.getByRole('heading', { name: 'New application' }).waitFor();
	await page.getByLabel('Name', { exact: true }).fill('shop');
	await page.getByLabel('Domains').fill('upload.test\nnocert.test');
	const cover = page.locator('.coverage');
	t.ok((await cover.locator('[data-cover="ok"]').innerText()).includes('upload.test'),
		'the editor shows which certificate serves each domain as it is typed');
	t.ok((await cover.locator('[data-cover="none"]').count()) === 1,
		'the editor warns about a domain no certificate covers');
	await page.getByLabel('Backend 1 URL').fill('ftp://127.0.0.1:1');
	await page.getByRole('button', { name: 'Create application' }).click();
	const bErr = page.locator('[data-error-for="backends"]');
	await bErr.waitFor({ state: 'visible' });
	t.ok((await bErr.innerText()).length > 0,
		'a bad backend URL shows the server error at the backends');
	await page.getByLabel('Backend 1 URL').fill('http://127.0.0.1:9');
	await page.getByRole('button', { name: 'Add backend' }).click();
	await page.getByLabel('Backend 2 URL').fill('http://127.0.0.1:10');
	await page.getByLabel('Backend 2 weight').fill('3');
	await page.getByLabel('Load balancing').selectOption('weighted');
	await shot(page, 'app-editor-1280');
	await page.getByRole('button', { name: 'Create application' }).click();
	await page.getByRole('heading', { name: 'Applications' }).waitFor();
	const r = page.locator('tr[data-name="shop"]');
	await r.waitFor();
	t.ok((await r.innerText()).includes('http://127.0.0.1:10'),
		'the new application is listed with its backends');
	t.ok((await r.locator('[data-cover="ok"]').innerText()).includes('upload.test'),
		'the list shows the certificate that serves upload.test');
	t.ok((await r.locator('[data-cover="none"]').innerText()).includes('No certificate'),
		'the list warns that nocert.test has no certificate');
	await shot(page, 'applications-1280');

	await r.getByRole('link', { name: 'Edit shop' }).click();
	await page.getByRole('heading', { name: 'Edit shop' }).waitFor();
	t.eq(await page.getByLabel('Backend 2 weight').inputValue(), '3',
		'the editor loads the saved application');
	await page.getByLabel('HTTPS redirect').uncheck();
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByRole('heading', { name: 'Applications' }).waitFor();
	t.eq((await r.locator('[data-label="HTTPS redirect"]').innerText()).trim(), 'No',
		'saving the editor updates the application (PUT)');
}

async function testDeletes(page, base) {
	await page.goto(`${base}/#/applications`);
	const r = page.locator('tr[data-name="shop"]');
	await r.waitFor();
	await r.getByRole('button', { name: 'Delete shop' }).click();
	await page.locator('dialog[open]').getByRole('button', { name: 'Cancel', exact: true }).click();
	t.eq(await r.count(), 1, 'cancelling the confirmation keeps the application');
	await r.getByRole('button', { name: 'Delete shop' }).click();
	await page.locator('dialog[open]')
		.getByRole('button', { name: 'Delete application', exact: true }).click();
	await r.waitFor({ state: 'detached' });
	t.eq(await r.count(), 0, 'deleting an application after confirmation removes it');

	await page.goto(`${base}/#/certificates`);
	await row(page, 'expired.test').waitFor();
	await row(page, 'expired.test').getByRole('button', { name: /Delete/ }).click();
	await page.locator('dialog[open]')
		.getByRole('button', { name: 'Delete certificate', exact: true }).click();
	await row(page, 'expired.test').waitFor({ state: 'detached' });
	t.eq(await row(page,
		'expired.test').count(), 0, 'deleting a certificate after confirmation removes its row');
}

async function testStatusAccount(page, base) {
	await page.goto(`${base}/#/status`);
	await page.locator('[data-stat="version"] dd').waitFor();
	t.ok(/\d+\.\d+/.test(await page.locator('[data-stat="version"] dd').innerText()),
		'the status page shows the version');
	t.ok((await page.locator('.status-counts li[data-status="ok"]').innerText()).match(/\d/),
		'the status page counts certificates by status');
	await shot(page, 'status-1280');

	await page.goto(`${base}/#/audit`);
	await page.locator('.table-audit tbody tr').first().waitFor();
	t.ok((await page.locator('.table-audit').innerText()).includes('certificate'),
		'the audit log lists the certificate changes');
	await shot(page, 'audit-1280');

	await page.goto(`${base}/#/account`);
	await page.getByLabel('Token name').fill('ci');
	await page.getByRole('button', { name: 'Create token' }).click();
	const tok = page.locator('#new-token');
	await tok.waitFor();
	const value = await tok.inputValue();
	t.ok(value.length >= 20, 'creating an API token shows it once');
	const res = await page.request.get(`${base}/api/v1/status`, {
		headers: { Authorization: `Bearer ${value}` }, failOnStatusCode: false });
	t.eq(res.status(), 200, 'the new token authenticates API requests');
	await shot(page, 'account-1280');
	await page.getByRole('button', { name: 'Revoke token ci' }).click();
	await page.locator('dialog[open]')
		.getByRole('button', { name: 'Revoke token', exact: true }).click();
	await page.locator('.table-tokens').waitFor({ state: 'detached' });
	const res2 = await page.request.get(`${base}/api/v1/status`, {
		headers: { Authorization: `Bearer ${value}` }, failOnStatusCode: false });
	t.eq(res2.status(), 401, 'a revoked token no longer works');

	await page.getByLabel('Current password').fill('not it');
	await page.getByLabel('New password', { exact: true }).fill('another good password');
	await page.getByLabel('New password again').fill('another good password');
	await page.getByRole('button', { name: 'Change password' }).click();
	const pErr = page.locator('[data-error-for="current_password"]');
	await pErr.waitFor({ state: 'visible' });
	t.ok((await pErr.innerText()).length > 0, 'a wrong current password is reported at that field');
}

async function testNarrow(page, base) {
	await page.setViewportSize({ width: 390, height: 844 });
	for (const [route, name] of [['certificates', 'certificates'], ['applications', 'applications'],
		['applications/new', 'app-editor'],
		['status', 'status'], ['account', 'account']]) {
		await page.goto(`${base}/#/${route}`);
		await page.locator('main h1').waitFor();
		await page.waitForTimeout(300);
		await shot(page, `${name}-390`);
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
		t.ok(overflow <= 390, `${route} fits a 390 px wide screen (no sideways scrolling)`, overflow);
	}
	await page.goto(`${base}/#/certificates`);
	await row(page, 'upload.test').waitFor();
	const display = await row(page, 'upload.test').evaluate((r) => getComputedStyle(r).display);
	t.eq(display, 'block', 'at phone width the certificate rows are stacked cards');
	await openAdd(page, 'User Provided');
	await shot(page, 'cert-add-dialog-390');
	await page.keyboard.press('Escape');
	await page.setViewportSize({ width: 1280, height: 800 });
}

async function testSession(page, context, base) {
	const second = await context.newPage();
	watch(second);
	await second.goto(`${base}/#/applications`);
	await second.getByRole('heading', { name: 'Applications' }).waitFor();
	t.ok(true, 'a new tab of a signed-in browser opens the console without signing in again');
	await second.close();

	await page.goto(`${base}/#/certificates`);
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.getByRole('heading', { name: 'Sign in' }).waitFor();
	t.ok(await page.locator('#nav').isHidden(),
		'signing out shows the sign-in page without the navigation');
	const res = await page.request.get(`${base}/api/v1/certificates`, { failOnStatusCode: false });
	t.eq(res.status(), 401, 'after signing out the API refuses the old session');
	await shot(page, 'signin-1280');
}

async function main() {
	let daemon = null;
	let browser = null;
	try {
		daemon = await startPostern(PASSWORD);
		const pki = new Pki(daemon.dir);
		pki.ca('rootca');
		browser = await launchBrowser();
		const page = browser.context.pages()[0] || await browser.context.newPage();
		page.setDefaultTimeout(10000);
		watch(page);
		const base = daemon.url;
		let good = null;
		await t.step('sign in', () => testSignIn(page, base));
		await t.step('self-signed', () => testSelfSigned(page));
		await t.step('upload', async () => { good = await testUpload(page, pki); });
		await t.step('mismatched key', () => testMismatch(page, pki, good));
		await t.step('badges', () => testBadges(page, pki));
		await shot(page, 'certificates-1280');
		await t.step('replace', () => testReplace(page, pki));
		await t.step('sort and filter', () => testSortFilter(page));
		await t.step('downloads', () => testDownloads(page));
		await t.step('keyboard', () => testKeyboard(page));
		await t.step('application', () => testApplication(page, base));
		await t.step('narrow screen', () => testNarrow(page, base));
		await t.step('deletes', () => testDeletes(page, base));
		await t.step('status and account', () => testStatusAccount(page, base));
		// The firewall and events pages (waf.test.js), same Tap and page.
		await t.step('firewall', () => runFirewall({ t, page, base, daemon }));
		await t.step('session', () => testSession(page, browser.context, base));
		t.ok(problems.length === 0,
			'no console errors, page errors or CSP violations', problems.join('\n'));
	} catch (err) {
		t.ok(false, 'the browser test ran', err && err.stack ? err.stack : err);
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		if (daemon) {
			const rc = await daemon.stop();
			t.ok(rc && rc.code === 0,
				'postern exits cleanly on SIGTERM', `${JSON.stringify(rc)}\n${daemon.log()}`);
			if (t.failed === 0)
				daemon.cleanup();
			else
				console.log(`# daemon log and data kept in ${daemon.dir}`);
		}
	}
	process.exitCode = t.done();
}

main();
