// The console's firewall and events pages in headless Chromium against
// the real daemon, with a real backend behind a real application:
// console.test.js runs runFirewall() with its Tap, page and daemon, so
// run.sh prints one TAP stream; `node waf.test.js` runs it alone.
// Screenshots (1280 px and 390 px wide) go to tests/browser/artifacts/.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { Tap, startPostern, launchBrowser, artifact } = require('./lib');

const APP = 'guarded';
const HOST = 'guarded.test';
const WORD = 'forbidden-word';

async function shot(page, name) {
	await page.screenshot({ path: artifact(`${name}.png`), fullPage: true });
}

// The gateway's plain HTTP port, from the daemon's configuration file.
function httpPort(daemon) {
	const conf = fs.readFileSync(path.join(daemon.dir, 'postern.conf'), 'utf8');
	const m = conf.match(/^http_listen\s*=\s*[^\n]*:(\d+)\s*$/m);
	if (!m)
		throw new Error('no http_listen in the daemon configuration');
	return Number(m[1]);
}

// A backend that answers every request with 200 and its path.
function startBackend() {
	return new Promise((resolve) => {
		const srv = http.createServer((req, res) => {
			res.writeHead(200, { 'Content-Type': 'text/plain' });
			res.end(`backend saw ${req.method} ${req.url}\n`);
		});
		srv.listen(0, '127.0.0.1', () => resolve(srv));
	});
}

// One request through the gateway, as a client would send it.
function gatewayGet(port, host, target) {
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: '127.0.0.1', port, path: target, method: 'GET', agent: false,
			headers: { Host: host, 'User-Agent': 'postern-browser-test/1.0', Accept: '*/*' },
		}, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('error', reject);
		req.setTimeout(5000, () => req.destroy(new Error('the gateway did not answer in 5 s')));
		req.end();
	});
}

// Repeat until want(response) holds: rule and application changes reach
// the workers within a second.
async function gatewayUntil(port, host, target, want, ms = 5000) {
	const deadline = Date.now() + ms;
	let res = null;
	for (;;) {
		res = await gatewayGet(port, host, target).catch((e) => ({ status: 0, body: String(e) }));
		if (want(res) || Date.now() > deadline)
			return res;
		await new Promise((r) => setTimeout(r, 200));
	}
}

// A modal dialog is centred in the viewport: shoot the viewport, not the page.
async function shotView(page, name) {
	await page.screenshot({ path: artifact(`${name}.png`) });
}

async function overflow(page) {
	return page.evaluate(() => document.documentElement.scrollWidth);
}

async function testAppFirewall(t, page, base, backendUrl, state) {
	await page.goto(`${base}/#/applications/new`);
	await page.getByRole('heading', { name: 'New application' }).waitFor();
	await page.getByLabel('Name', { exact: true }).fill(APP);
	await page.getByLabel('Domains').fill(HOST);
	await page.getByLabel('Backend 1 URL').fill(backendUrl);
	await page.getByLabel('HTTPS redirect').uncheck();
	const fw = page.locator('#firewall');
	t.ok(await fw.isVisible(), 'the application editor has a Firewall section');
	await fw.locator('.segment label', { hasText: 'Block' }).click();
	await fw.getByLabel('Rate limit', { exact: true }).check();
	await fw.getByLabel('Requests', { exact: true }).fill('1000');
	await fw.getByLabel('Per seconds').fill('10');
	await fw.getByLabel('IP deny list').fill('203.0.113.0/24\n2001:db8:dead::/48');
	await fw.scrollIntoViewIfNeeded();
	await fw.screenshot({ path: artifact('app-firewall-section-1280.png') });
	await shot(page, 'app-editor-firewall-1280');
	await page.getByRole('button', { name: 'Create application' }).click();
	await page.getByRole('heading', { name: 'Applications' }).waitFor();
	const r = page.locator(`tr[data-name="${APP}"]`);
	await r.waitFor();
	state.appId = Number(await r.getAttribute('data-id'));
	t.eq((await r.locator('[data-col="waf"] [data-waf]').innerText()).trim(), 'Block',
		'the application list shows the WAF mode as a badge');
	await shot(page, 'applications-waf-1280');

	await r.getByRole('link', { name: `Edit ${APP}` }).click();
	await page.getByRole('heading', { name: `Edit ${APP}` }).waitFor();
	const saved = {
		block: await fw.locator('input[data-role="waf"][value="block"]').isChecked(),
		rate: await fw.getByLabel('Rate limit', { exact: true }).isChecked(),
		requests: await fw.getByLabel('Requests', { exact: true }).inputValue(),
		deny: await fw.getByLabel('IP deny list').inputValue(),
	};
	t.ok(saved.block && saved.rate && saved.requests === '1000' &&
		saved.deny.split('\n').includes('203.0.113.0/24'),
	'the editor loads the saved firewall mode, rate limit and deny list', JSON.stringify(saved));
}

async function testRulesPage(t, page, base) {
	await page.goto(`${base}/#/firewall`);
	await page.getByRole('heading', { name: 'Firewall' }).waitFor();
	await page.locator('#rule-table tbody tr').first().waitFor();
	const presets = page.locator('#rule-table tr[data-preset="true"]');
	t.ok(await presets.count() > 0, 'the rules page lists the preset rules',
		await page.locator('#rule-table').innerText());
	t.eq((await presets.first().locator('[data-col="type"]').innerText()).trim(), 'Preset',
		'preset rules carry a Preset badge');
	t.eq(await presets.first().getByRole('button', { name: /^Delete/ }).count(), 0,
		'preset rules have no Delete button');
	await shot(page, 'firewall-rules-1280');

	const pid = await presets.first().getAttribute('data-id');
	await page.getByRole('button', { name: `View rule ${pid}` }).click();
	const dlg = page.locator('dialog[open]');
	await dlg.waitFor();
	t.ok(await dlg.getByLabel('Description').isDisabled() &&
		await dlg.locator('select[name="conditions[0].operator"]').isDisabled() &&
		await dlg.getByLabel('Enabled').isEnabled(),
	'a preset opens read-only, except its Enabled box');
	await shotView(page, 'rule-preset-view-1280');
	await page.keyboard.press('Escape');
	await dlg.waitFor({ state: 'detached' });
}

async function testRuleEditor(t, page, state) {
	await page.getByRole('button', { name: 'Add rule' }).click();
	const dlg = page.locator('dialog[open]');
	await dlg.waitFor();
	await dlg.getByLabel('Description').fill(`Block ${WORD}`);
	await dlg.getByLabel('All applications').uncheck();
	await dlg.getByLabel(APP, { exact: true }).check();
	await dlg.locator('select[name="conditions[0].target"]').selectOption('args');
	await dlg.locator('select[name="conditions[0].operator"]').selectOption('regex');
	const value = dlg.locator('input[name="conditions[0].value"]');
	await value.fill('forbidden-(word');
	await dlg.locator('[data-field="conditions[0].transforms"]').getByLabel('URL-decode').check();
	await dlg.locator('[data-field="conditions[0].transforms"]').getByLabel('Lowercase').check();

	await dlg.getByRole('button', { name: 'Add condition' }).click();
	await dlg.locator('select[name="conditions[1].target"]').selectOption('header');
	t.ok(await dlg.getByLabel('Condition 2 header name').isVisible(),
		'choosing the Header target shows a header name field');
	await dlg.getByRole('button', { name: 'Remove condition 2' }).click();
	t.eq(await dlg.locator('.cond-row').count(), 1, 'a condition can be added and removed');

	await dlg.getByRole('button', { name: 'Create rule' }).click();
	const err = dlg.locator('[data-error-for="conditions[0].value"]');
	await err.waitFor({ state: 'visible' });
	const text = await err.innerText();
	t.ok(/parenthes|missing|offset/i.test(text),
		'an invalid regex shows PCRE2\'s message next to the value field', text);
	t.eq(await value.getAttribute('aria-invalid'), 'true', 'the value field is marked invalid');
	await dlg.screenshot({ path: artifact('rule-editor-error-1280.png') });
	await shotView(page, 'rule-editor-1280');

	await value.fill(WORD);
	t.ok(await err.isHidden(), 'the field error goes away once the value is edited');
	await dlg.getByRole('button', { name: 'Create rule' }).click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
	const row = page.locator('#rule-table tr[data-preset="false"]', { hasText: `Block ${WORD}` });
	await row.waitFor();
	state.ruleId = Number(await row.getAttribute('data-id'));
	t.ok(state.ruleId > 0, 'the new rule is listed with its id', state.ruleId);
	t.eq((await row.locator('[data-col="applications"]').innerText()).trim(), APP,
		'the rule lists its application by name');
	t.eq((await row.locator('[data-col="action"]').innerText()).trim(), 'Block',
		'the rule shows its action');
	t.eq((await row.locator('[data-col="type"]').innerText()).trim(), 'Custom',
		'the rule is marked Custom');

	await page.locator('.segment label', { hasText: 'Custom' }).click();
	const shown = await page.locator('#rule-table tbody tr[data-id]').evaluateAll(
		(rows) => rows.map((r) => r.dataset.preset));
	t.ok(shown.length >= 1 && shown.every((p) => p === 'false'),
		'the Custom filter shows only custom rules', JSON.stringify(shown));
	await page.locator('.segment label', { hasText: 'All rules' }).click();
}

async function testTestBox(t, page, state) {
	await page.locator('.page-actions').getByRole('button', { name: 'Test a request' }).click();
	t.eq(await page.evaluate(() => document.activeElement.id), 'test-request-page',
		'"Test a request" takes you to the test box below the rules');
	const box = page.locator('[data-test-box="page"]');
	await box.locator('select').selectOption(String(state.appId));
	t.ok((await box.locator('textarea').inputValue()).includes(`Host: ${HOST}`),
		'choosing an application puts its domain in the example request');
	await box.locator('textarea').fill(`GET /search?q=${WORD} HTTP/1.1\nHost: ${HOST}\n\n`);
	await box.getByRole('button', { name: 'Test' }).click();
	const verdict = box.locator('[data-role="verdict"]');
	await verdict.waitFor();
	t.eq((await verdict.innerText()).trim(), 'Blocked', 'the test box shows the verdict Blocked');
	t.eq(await box.locator('.verdict').getAttribute('data-verdict'), 'block',
		'the verdict is block');
	const match = box.locator(`.match[data-rule="${state.ruleId}"]`);
	t.eq(await match.count(), 1, 'the matching custom rule is listed');
	const mtext = await match.innerText().catch(() => '');
	t.ok(/args/.test(mtext) && mtext.includes(WORD),
		'the match names its target and the matched excerpt', mtext);
	t.ok(await verdict.evaluate((b) => b.classList.contains('badge-red')),
		'the Blocked verdict badge is red');
	await box.scrollIntoViewIfNeeded();
	await shot(page, 'firewall-test-1280');

	await box.locator('textarea').fill(`GET /search?q=select+a+plan HTTP/1.1\nHost: ${HOST}\n\n`);
	await box.getByRole('button', { name: 'Test' }).click();
	await page.waitForFunction(() => {
		const v = document.querySelector('[data-test-box="page"] .verdict');
		return v && v.dataset.verdict !== 'block';
	});
	t.eq(await box.locator('.verdict').getAttribute('data-verdict'), 'pass',
		'an ordinary request passes');

	// The editor's test box marks the rule being edited.
	await page.getByRole('button', { name: `Edit rule ${state.ruleId}` }).click();
	const dlg = page.locator('dialog[open]');
	await dlg.waitFor();
	await dlg.locator('.test-details > summary').click();
	const ebox = dlg.locator('[data-test-box="editor"]');
	await ebox.locator('textarea').fill(`POST /form HTTP/1.1\nHost: ${HOST}\n` +
		`Content-Type: application/x-www-form-urlencoded\n\ncomment=${WORD.toUpperCase()}`);
	await ebox.getByRole('button', { name: 'Test' }).click();
	await ebox.locator('.verdict').waitFor();
	t.eq(await ebox.locator(`.match.is-this[data-rule="${state.ruleId}"]`).count(), 1,
		'the editor\'s test box marks the edited rule (form body, lowercased)');
	await ebox.locator('.verdict').scrollIntoViewIfNeeded();
	await shotView(page, 'rule-editor-test-1280');
	await dlg.getByRole('button', { name: 'Cancel' }).click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
}

async function testGateway(t, port, state) {
	const clean = await gatewayUntil(port, HOST, '/hello?q=fine', (r) => r.status === 200);
	t.ok(clean.status === 200 && clean.body.includes('backend saw GET /hello'),
		'an ordinary request goes through the gateway to the backend',
		`${clean.status} ${clean.body.slice(0, 300)}`);
	const blocked = await gatewayUntil(port, HOST, `/search?q=${WORD}`, (r) => r.status === 403);
	t.eq(blocked.status, 403, 'a request with the forbidden word gets 403 from the gateway');
	const m = blocked.body.match(/\b[0-9a-f]{16}\b/);
	state.eventId = m ? m[0] : null;
	t.ok(Boolean(state.eventId), 'the 403 page names an event id', blocked.body.slice(0, 400));
	const preset = await gatewayGet(port, HOST, '/.env');
	t.eq(preset.status, 403, 'a preset rule blocks /.env through the gateway');
}

async function testEvents(t, page, base, port, state) {
	await page.goto(`${base}/#/events`);
	await page.getByRole('heading', { name: 'Events' }).waitFor();
	const row = page.locator(`#event-table tr[data-rule="${state.ruleId}"]`).first();
	await row.waitFor();
	const env = page.locator('#event-table td[data-col="path"]', { hasText: '/.env' });
	await env.waitFor();
	const envRule = Number(await env.locator('xpath=..').getAttribute('data-rule'));
	t.ok(envRule > 0 && envRule < 100000, 'the block by a preset rule is listed too', envRule);
	const cell = async (col) => (await row.locator(`[data-col="${col}"]`).innerText()).trim();
	t.eq(await cell('application'), APP, 'the event names the application');
	t.eq(await cell('client_ip'), '127.0.0.1', 'the event shows the client IP');
	t.eq(await cell('path'), '/search', 'the event shows the path');
	t.eq(await cell('action'), 'Block', 'the event shows the action');
	t.ok((await cell('rule')).includes(`Block ${WORD}`), 'the event names the rule by description');
	t.ok((await cell('excerpt')).includes(WORD), 'the event shows the excerpt');
	if (state.eventId)
		t.eq(await page.locator(`#event-table tr[data-id="${state.eventId}"]`).count(), 1,
			'the event id on the 403 page is the one listed');
	await shot(page, 'events-1280');

	// Auto-refresh: a new blocked request shows up without a reload.
	const res = await gatewayGet(port, HOST, `/later?q=${WORD}`);
	t.eq(res.status, 403, 'a second blocked request');
	const later = page.locator('#event-table td[data-col="path"]', { hasText: '/later' });
	await later.waitFor({ timeout: 15000 });
	t.ok(true, 'the events page shows the new event by itself (auto-refresh)');

	await page.locator('#ev-rule').selectOption('rate_limit');
	await page.locator('#event-table .empty').waitFor();
	t.ok((await page.locator('#event-table .empty').innerText()).includes('No events match'),
		'a filter that matches nothing shows the empty state');
	await page.locator('#ev-rule').selectOption(String(state.ruleId));
	await page.locator(`#event-table tr[data-rule="${state.ruleId}"]`).first().waitFor();
	const rules = await page.locator('#event-table tbody tr').evaluateAll(
		(rows) => rows.map((r) => r.dataset.rule));
	t.ok(rules.length >= 2 && rules.every((x) => x === String(state.ruleId)),
		'filtering by rule lists only that rule\'s events', JSON.stringify(rules));
	const future = new Date(Date.now() + 3600e3).toISOString().slice(0, 16);
	await page.locator('#ev-since').fill(future);
	await page.locator('#event-table .empty').waitFor();
	t.ok(true, 'a since time in the future lists nothing');
	await page.getByRole('button', { name: 'Clear filters' }).click();
	await page.locator('#event-table tbody tr').first().waitFor();
}

async function testPresetToggle(t, page, base, state) {
	await page.goto(`${base}/#/firewall`);
	const first = page.locator('#rule-table tr[data-preset="true"]').first();
	await first.waitFor();
	state.presetId = Number(await first.getAttribute('data-id'));
	const toggle = () => page.locator(`#rule-table tr[data-id="${state.presetId}"] input.switch`);
	t.ok(await toggle().isChecked(), 'preset rules are enabled by default');
	const [resp] = await Promise.all([
		page.waitForResponse((r) => r.url().endsWith(`/waf/rules/${state.presetId}`) &&
			r.request().method() === 'PUT'),
		toggle().click(),
	]);
	t.eq(resp.status(), 200, 'turning a preset off saves it (PUT {"enabled": false})');
	await page.reload();
	await toggle().waitFor();
	t.eq(await toggle().isChecked(), false, 'the preset stays off after a reload');
	t.ok(await page.locator(`#rule-table tr[data-id="${state.presetId}"]`).evaluate(
		(r) => r.classList.contains('is-off')), 'a disabled rule is shown dimmed');
	await shot(page, 'firewall-preset-off-1280');
	await Promise.all([
		page.waitForResponse((r) => r.url().endsWith(`/waf/rules/${state.presetId}`) &&
			r.request().method() === 'PUT'),
		toggle().click(),
	]);
	await page.reload();
	await toggle().waitFor();
	t.ok(await toggle().isChecked(), 'turning it on again persists too');
}

async function testNarrow(t, page, base, state) {
	await page.setViewportSize({ width: 390, height: 844 });
	for (const [route, name] of [['firewall', 'firewall-rules'], ['events', 'events'],
		[`applications/${state.appId}`, 'app-editor-firewall'], ['applications', 'applications-waf']]) {
		await page.goto(`${base}/#/${route}`);
		await page.locator('main h1').waitFor();
		await page.locator('main table, main .empty, main form').first().waitFor();
		await page.waitForTimeout(300);
		await shot(page, `${name}-390`);
		const w = await overflow(page);
		t.ok(w <= 390, `${route} fits a 390 px wide screen (no sideways scrolling)`, w);
	}
	await page.goto(`${base}/#/applications/${state.appId}`);
	await page.locator('#firewall').scrollIntoViewIfNeeded();
	await page.locator('#firewall').screenshot({ path: artifact('app-firewall-section-390.png') });

	await page.goto(`${base}/#/firewall`);
	await page.getByRole('button', { name: `Edit rule ${state.ruleId}` }).click();
	const dlg = page.locator('dialog[open]');
	await dlg.waitFor();
	await page.waitForTimeout(200);
	await shotView(page, 'rule-editor-390');
	await dlg.locator('.cond-row').first().scrollIntoViewIfNeeded();
	await shotView(page, 'rule-editor-conditions-390');
	const wide = await dlg.evaluate((d) => d.scrollWidth - d.clientWidth);
	t.ok(wide <= 0, 'the rule editor fits a 390 px wide screen', wide);
	await dlg.locator('.test-details > summary').click();
	await dlg.locator('[data-test-box="editor"]').getByRole('button', { name: 'Test' }).click();
	await dlg.locator('[data-test-box="editor"] .verdict').waitFor();
	await dlg.locator('[data-test-box="editor"] .verdict').scrollIntoViewIfNeeded();
	await dlg.screenshot({ path: artifact('rule-editor-test-390.png') });
	await page.keyboard.press('Escape');
	await page.setViewportSize({ width: 1280, height: 800 });
}

async function testDeleteRule(t, page, base, port, state) {
	await page.goto(`${base}/#/firewall`);
	const row = page.locator(`#rule-table tr[data-id="${state.ruleId}"]`);
	await row.waitFor();
	await row.getByRole('button', { name: `Delete rule ${state.ruleId}` }).click();
	await page.locator('dialog[open]').getByRole('button', { name: 'Delete rule', exact: true })
		.click();
	await row.waitFor({ state: 'detached' });
	t.eq(await row.count(), 0, 'deleting a custom rule after confirmation removes it');
	const res = await gatewayUntil(port, HOST, `/search?q=${WORD}`, (r) => r.status === 200);
	t.eq(res.status, 200, 'once the rule is deleted the request goes through again');
}

// The firewall checks, on a signed-in page of the console at base.
async function runFirewall({ t, page, base, daemon }) {
	const state = {};
	const backend = await startBackend();
	const backendUrl = `http://127.0.0.1:${backend.address().port}`;
	let port = 0;
	try {
		port = httpPort(daemon);
		await t.step('application firewall settings',
			() => testAppFirewall(t, page, base, backendUrl, state));
		await t.step('rules page', () => testRulesPage(t, page, base));
		await t.step('rule editor', () => testRuleEditor(t, page, state));
		await t.step('test box', () => testTestBox(t, page, state));
		await t.step('blocked request through the gateway', () => testGateway(t, port, state));
		await t.step('events page', () => testEvents(t, page, base, port, state));
		await t.step('preset toggle', () => testPresetToggle(t, page, base, state));
		await t.step('firewall pages at phone width', () => testNarrow(t, page, base, state));
		await t.step('delete rule', () => testDeleteRule(t, page, base, port, state));
	} finally {
		await new Promise((resolve) => backend.close(resolve));
	}
}

module.exports = { runFirewall };

// Alone: its own daemon and browser, signed in, then the same checks.
async function standalone() {
	const t = new Tap();
	const problems = [];
	const password = 'correct horse battery';
	let daemon = null;
	let browser = null;
	try {
		daemon = await startPostern(password);
		browser = await launchBrowser();
		const page = browser.context.pages()[0] || await browser.context.newPage();
		page.setDefaultTimeout(10000);
		page.on('console', (m) => {
			if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
				problems.push(`console: ${m.text()}`);
		});
		page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
		await page.goto(`${daemon.url}/`);
		await page.getByLabel('User name').fill('admin');
		await page.getByLabel('Password', { exact: true }).fill(password);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await page.getByRole('heading', { name: 'Certificates' }).waitFor();
		await runFirewall({ t, page, base: daemon.url, daemon });
		t.ok(problems.length === 0, 'no console errors, page errors or CSP violations',
			problems.join('\n'));
	} catch (err) {
		t.ok(false, 'the firewall browser test ran', err && err.stack ? err.stack : err);
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		if (daemon) {
			const rc = await daemon.stop();
			t.ok(rc && rc.code === 0, 'postern exits cleanly on SIGTERM',
				`${JSON.stringify(rc)}\n${daemon.log()}`);
			if (t.failed === 0)
				daemon.cleanup();
			else
				console.log(`# daemon log and data kept in ${daemon.dir}`);
		}
	}
	process.exitCode = t.done();
}

if (require.main === module)
	standalone();
