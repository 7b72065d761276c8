// Helpers for the console's browser tests: TAP output, a real postern
// daemon on free loopback ports, certificates made with the openssl
// command, and Debian's Chromium driven by playwright-core.
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(__dirname, 'artifacts');

// ---- TAP

class Tap {
	constructor() {
		this.n = 0;
		this.failed = 0;
	}

	ok(cond, desc, diag) {
		this.n += 1;
		if (!cond)
			this.failed += 1;
		console.log(`${cond ? 'ok' : 'not ok'} ${this.n} - ${desc}`);
		if (!cond && diag !== undefined) {
			for (const line of String(diag).split('\n').slice(0, 30))
				console.log(`#   ${line}`);
		}
		return Boolean(cond);
	}

	eq(got, want, desc) {
		return this.ok(got === want, desc, `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`);
	}

	// Run one step; an exception is a failed check, and the later steps run.
	async step(desc, fn) {
		try {
			await fn();
		} catch (err) {
			this.ok(false, `${desc} (raised)`, err && err.stack ? err.stack : err);
		}
	}

	done() {
		console.log(`1..${this.n}`);
		return this.failed === 0 && this.n > 0 ? 0 : 1;
	}
}

// ---- the daemon

function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function waitPort(port, ms) {
	const deadline = Date.now() + ms;
	return new Promise((resolve) => {
		const attempt = () => {
			const s = net.connect(port, '127.0.0.1');
			s.once('connect', () => {
				s.destroy();
				resolve(true);
			});
			s.once('error', () => {
				s.destroy();
				if (Date.now() > deadline)
					resolve(false);
				else
					setTimeout(attempt, 50);
			});
		};
		attempt();
	});
}

// Start postern -c CONF in a fresh temp dir with [admin] tls = off on a
// free loopback port. Returns {url, dir, password, stop(), log()}.
async function startPostern(password) {
	const bin = process.env.POSTERN_BIN || path.join(ROOT, 'build', 'postern');
	if (!fs.existsSync(bin))
		throw new Error(`no postern binary at ${bin}; build it or set POSTERN_BIN`);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-browser-'));
	const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
	const conf = path.join(dir, 'postern.conf');
	fs.writeFileSync(conf, `[gateway]\nhttp_listen = 127.0.0.1:${http}\n` +
		`https_listen = 127.0.0.1:${https}\nworkers = 2\n[admin]\nlisten = 127.0.0.1:${admin}\n` +
		`tls = off\n[storage]\ndata_dir = ${path.join(dir, 'var')}\n[log]\naccess_log =\n`);
	const logPath = path.join(dir, 'daemon.log');
	const logFd = fs.openSync(logPath, 'w');
	const env = { ...process.env, POSTERN_ADMIN_PASSWORD: password };
	const child = spawn(bin, ['-c', conf], { env, stdio: ['ignore', logFd, logFd] });
	fs.closeSync(logFd);
	const log = () => fs.readFileSync(logPath, 'utf8');
	let exited = null;
	child.on('exit', (code, sig) => { exited = { code, sig }; });
	if (!(await waitPort(admin, 15000))) {
		child.kill('SIGKILL');
		throw new Error(`postern did not open its admin port:\n${log()}`);
	}
	return {
		url: `http://127.0.0.1:${admin}`,
		httpsPort: https,
		dir,
		password,
		log,
		async stop() {
			if (exited)
				return exited;
			child.kill('SIGTERM');
			const t = setTimeout(() => child.kill('SIGKILL'), 20000);
			await new Promise((resolve) => child.once('exit', resolve));
			clearTimeout(t);
			return exited;
		},
		cleanup() {
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

// ---- certificates made with the openssl command

function openssl(args, cwd) {
	return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

class Pki {
	constructor(base) {
		this.dir = path.join(base, 'pki');
		fs.mkdirSync(this.dir, { recursive: true });
	}

	p(name) {
		return path.join(this.dir, name);
	}

	key(name) {
		openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
			'-out', this.p(`${name}.key`)]);
		return this.p(`${name}.key`);
	}

	// A self-signed root CA.
	ca(name) {
		this.key(name);
		openssl(['req', '-x509', '-new', '-key', this.p(`${name}.key`), '-subj', `/CN=${name}`,
			'-days', '3650', '-out', this.p(`${name}.pem`),
			'-addext', 'basicConstraints=critical,CA:TRUE',
			'-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
		return this.p(`${name}.pem`);
	}

	// A leaf for cn with SANs, issued by ca, valid days days from now.
	leaf(name, cn, sans, ca, days = 90) {
		this.key(name);
		const ext = this.p(`${name}.ext`);
		fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
			'extendedKeyUsage=serverAuth\n' +
			`subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}\n`);
		openssl(['req', '-new', '-key', this.p(`${name}.key`), '-subj', `/CN=${cn}`,
			'-out', this.p(`${name}.csr`)]);
		openssl(['x509', '-req', '-in', this.p(`${name}.csr`), '-CA', this.p(`${ca}.pem`),
			'-CAkey', this.p(`${ca}.key`), '-CAcreateserial', '-extfile', ext,
			'-out', this.p(`${name}.pem`), '-days', String(days)]);
		return { cert: this.p(`${name}.pem`), key: this.p(`${name}.key`) };
	}

	// A leaf whose validity ended in 2021 (openssl ca -startdate/-enddate).
	expiredLeaf(name, cn, ca) {
		this.key(name);
		const cadir = this.p(`ca-${name}`);
		fs.mkdirSync(cadir, { recursive: true });
		fs.writeFileSync(path.join(cadir, 'index.txt'), '');
		fs.writeFileSync(path.join(cadir, 'serial'), '1000\n');
		const cnf = path.join(cadir, 'ca.cnf');
		fs.writeFileSync(cnf, `[ca]\ndefault_ca=c\n[c]\ndir=${cadir}\ndatabase=$dir/index.txt\n` +
			'serial=$dir/serial\nnew_certs_dir=$dir\ndefault_md=sha256\npolicy=p\n' +
			'unique_subject=no\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' +
			`[ext]\nbasicConstraints=CA:FALSE\nsubjectAltName=DNS:${cn}\n`);
		openssl(['req', '-new', '-key', this.p(`${name}.key`), '-subj', `/CN=${cn}`,
			'-out', this.p(`${name}.csr`)]);
		openssl(['ca', '-batch', '-config', cnf, '-extensions', 'ext', '-in', this.p(`${name}.csr`),
			'-cert', this.p(`${ca}.pem`), '-keyfile', this.p(`${ca}.key`),
			'-startdate', '20200101000000Z', '-enddate', '20210101000000Z',
			'-out', this.p(`${name}.pem`), '-notext']);
		return { cert: this.p(`${name}.pem`), key: this.p(`${name}.key`) };
	}

	// notBefore / notAfter of a PEM file as YYYY-MM-DD (UTC).
	dates(pem) {
		const out = openssl(['x509', '-in', pem, '-noout', '-startdate', '-enddate', '-dateopt',
			'iso_8601']);
		const get = (k) => out.match(new RegExp(`${k}=(\\d{4}-\\d{2}-\\d{2})`))[1];
		return { issued: get('notBefore'), expires: get('notAfter') };
	}
}

// ---- the browser

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--disable-quic'];

// Debian's Chromium with a fresh profile. Returns {context, close()}.
async function launchBrowser() {
	const { chromium } = require('playwright-core');
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-chromium-'));
	const context = await chromium.launchPersistentContext(userDir, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: CHROMIUM_ARGS,
		viewport: { width: 1280, height: 800 },
		acceptDownloads: true,
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(userDir, { recursive: true, force: true });
		},
	};
}

function artifact(name) {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	return path.join(ARTIFACTS, name);
}

module.exports = { Tap, startPostern, Pki, launchBrowser, artifact, openssl };
