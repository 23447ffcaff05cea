#!/usr/bin/env node
// A local Sigstore stack on loopback, for sigctl's tests and demo.
//
//   node stack.js OUTDIR [--port N] [--exit-with-stdin]
//
// One node:http server on 127.0.0.1 serves @sigstore/mock's Fulcio (CA and
// CT log), Rekor v1 and TSA, a second TSA that is the real `openssl ts`, an
// OIDC side (GitHub Actions token endpoint, Dex-style /auth and /token) and
// a control route for fault injection. POST /scopes opens another port onto
// the same CA, logs and TSAs with its own faults and counters, so tests
// running in parallel against one stack do not see each other's faults
// (a port, not a path prefix: clients build URLs as they like, and
// sigstore-python's urljoin drops a base URL's path).
//
// On start it writes into OUTDIR: trusted_root.json, signing_config.json
// (TSA: the mock's), signing_config_openssl_tsa.json (TSA: openssl ts),
// trust_config.json (sigstore-python's --trust-config: the trusted root and
// signing_config.json), fulcio_root.pem, mock-tsa/{leaf,root}.pem,
// openssl-tsa/{leaf,root,chain}.pem, then url and pid last; then it prints
// one JSON line {"url", "pid", "dir"} on stdout.
// README.md says what is real, what is adapted and why.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');

const mock = require('@sigstore/mock'); // loads reflect-metadata for @peculiar/x509
const x509 = require('@peculiar/x509');
const pkijs = require('pkijs');
const asn1js = require('asn1js');

const SERVICES = ['fulcio', 'rekor', 'tsa', 'openssl_tsa', 'oidc'];
const MODES = {
  fulcio: ['ok', 'down', 'unavailable', 'slow', 'garbage', 'mismatch'],
  rekor: ['ok', 'down', 'unavailable', 'slow', 'garbage', 'mismatch'],
  tsa: ['ok', 'down', 'unavailable', 'slow', 'garbage', 'mismatch'],
  openssl_tsa: ['ok', 'down', 'unavailable', 'slow', 'garbage', 'mismatch'],
  oidc: ['ok', 'down', 'unavailable', 'slow', 'garbage'],
};
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const TSA_POLICY = '1.3.6.1.4.1.57264.2';
const MAX_BODY = 1 << 20;
const DAY_MS = 24 * 3600 * 1000;

function usage(msg) {
  process.stderr.write(`stack.js: ${msg}\nusage: node stack.js OUTDIR [--port N] [--exit-with-stdin]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, exitWithStdin: false, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') {
      opts.port = Number(argv[++i]);
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
    } else if (a === '--exit-with-stdin') {
      opts.exitWithStdin = true;
    } else if (a.startsWith('-')) {
      usage(`unknown option ${a}`);
    } else if (opts.out === null) {
      opts.out = a;
    } else {
      usage('one OUTDIR only');
    }
  }
  if (opts.out === null) usage('OUTDIR missing');
  return opts;
}

// ---------------------------------------------------------------- helpers

const b64 = (buf) => Buffer.from(buf).toString('base64');
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest();
const spki = (keyObject) => keyObject.export({ format: 'der', type: 'spki' });
const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function toPem(der, label) {
  const body = Buffer.from(der).toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function pemToDer(pem) {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

// Re-encode every PEM block as Go's pem.EncodeToMemory does (64-column base64, LF),
// which is what real Rekor stores after canonicalising a hashedrekord's key.
function canonicalPem(text) {
  const blocks = [...text.matchAll(/-----BEGIN ([^-]+)-----([\s\S]*?)-----END \1-----/g)];
  if (blocks.length === 0) return text;
  return blocks.map((m) => toPem(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'), m[1])).join('');
}

function writeAtomic(file, text) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function decodeJwtClaims(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) throw new Error('identity token is not a JWT');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new Error('identity token claims are not an object');
  }
  return claims;
}

// A serial as real CAs make them: 20 random bytes, positive.
function randomSerialHex(bytes = 20) {
  const b = crypto.randomBytes(bytes);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}

// ---------------------------------------------------------------- certificate patches
//
// The mock CA gives every certificate serial 11182004 and puts the identity
// in a URI SAN even when it is an email. Real Fulcio uses random serials and
// an rfc822Name for email identities. Both are fixed here, at the one place
// the mock builds certificates: the pre-certificate and the certificate are
// built from the same parameters object, so the serial chosen for the first
// is reused by the second and the SCT stays valid.
const MOCK_SERIAL = '11182004';
const originalCreate = x509.X509CertificateGenerator.create.bind(x509.X509CertificateGenerator);
x509.X509CertificateGenerator.create = async function create(params, cryptoProvider) {
  if (params && params.serialNumber === MOCK_SERIAL) {
    params.serialNumber = randomSerialHex();
    params.extensions = (params.extensions || []).map((ext) => {
      if (!(ext instanceof x509.SubjectAlternativeNameExtension)) return ext;
      const names = ext.names.toJSON();
      if (names.length === 1 && names[0].type === 'url' && isEmail(names[0].value)) {
        return new x509.SubjectAlternativeNameExtension([{ type: 'email', value: names[0].value }], true);
      }
      return ext;
    });
  }
  return originalCreate(params, cryptoProvider);
};

function isEmail(s) {
  return /^[^@\s:/]+@[^@\s:/]+$/.test(s);
}

// ---------------------------------------------------------------- the stack

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const out = path.resolve(opts.out);
  fs.mkdirSync(out, { recursive: true });

  if (opts.exitWithStdin) {
    // The test process holds our stdin: when it exits, for any reason, so do we.
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));

  const stack = { scopes: new Map(), entries: new Map(), codes: new Map(), nextScope: 0 };
  const base = await listen(stack, opts.port, '');

  // Distinct keys, so a verifier that mixes up the CA, CT log, Rekor and TSA keys fails.
  const keys = { ca: newKey(), ct: newKey(), rekor: newKey(), tsa: newKey(), oidc: newKey() };
  const ctlog = await mock.initializeCTLog(keys.ct);
  const ca = await mock.initializeCA(keys.ca, ctlog);
  const tlog = await mock.initializeTLog(base, keys.rekor);
  const tsa = await mock.initializeTSA(keys.tsa);
  patchTsa(tsa);
  const fulcioFn = mock.fulcioHandler(ca, { subjectClaim: SUBJECT_CLAIM }).fn;
  const rekorFn = mock.rekorHandler(tlog).fn;
  const tsaFn = mock.tsaHandler(tsa).fn;
  const osslTsa = makeOpensslTsa(path.join(out, 'openssl-tsa'));

  Object.assign(stack, {
    base,
    ca,
    ctlog,
    tlog,
    tsa,
    fulcioFn,
    rekorFn,
    tsaFn,
    osslTsa,
    oidcKey: keys.oidc,
    oidcKid: b64url(sha256(spki(keys.oidc.publicKey))).slice(0, 16),
    ready: true,
  });

  const dayBack = new Date(Date.now() - DAY_MS).toISOString();
  const trustedRoot = trustedRootJson(stack, dayBack);
  const signingConfig = signingConfigJson(base, dayBack, `${base}/api/v1/timestamp`);
  const signingConfigOssl = signingConfigJson(base, dayBack, `${base}/openssl-tsa/api/v1/timestamp`);
  const trustConfig = {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot,
    signingConfig,
  };
  const json = (v) => `${JSON.stringify(v, null, 2)}\n`;
  writeAtomic(path.join(out, 'trusted_root.json'), json(trustedRoot));
  writeAtomic(path.join(out, 'signing_config.json'), json(signingConfig));
  writeAtomic(path.join(out, 'signing_config_openssl_tsa.json'), json(signingConfigOssl));
  writeAtomic(path.join(out, 'trust_config.json'), json(trustConfig));
  // PEM copies for openssl (ts -verify, cms -verify, x509): the mock TSA's
  // chain and the Fulcio root; the openssl TSA's are in openssl-tsa/.
  fs.mkdirSync(path.join(out, 'mock-tsa'), { recursive: true });
  writeAtomic(path.join(out, 'mock-tsa', 'leaf.pem'), toPem(tsa.intCertificate, 'CERTIFICATE'));
  writeAtomic(path.join(out, 'mock-tsa', 'root.pem'), toPem(tsa.rootCertificate, 'CERTIFICATE'));
  writeAtomic(path.join(out, 'fulcio_root.pem'), toPem(ca.rootCertificate, 'CERTIFICATE'));
  writeAtomic(path.join(out, 'url'), `${base}\n`);
  writeAtomic(path.join(out, 'pid'), `${process.pid}\n`);
  process.stdout.write(`${JSON.stringify({ url: base, pid: process.pid, dir: out })}\n`);
}

// A server on `port` (0: any) whose requests all belong to scope `name`;
// resolves to its base URL.
async function listen(stack, port, name) {
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  stack.scopes.set(name, { ...freshScope(), url });
  server.on('request', (req, res) => {
    if (!stack.ready) return send(res, 503, 'text/plain', 'starting\n');
    handle(stack, name, req, res).catch((e) => {
      process.stderr.write(`stack.js: ${req.method} ${req.url}: ${e && e.stack ? e.stack : e}\n`);
      if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${e && e.message}`);
      else res.destroy();
    });
  });
  return url;
}

// ---------------------------------------------------------------- trust material

function trustedRootJson(stack, start) {
  const validFor = { start };
  const tsaCa = (uri, subject, chain) => ({
    subject,
    uri,
    certChain: { certificates: chain.map((der) => ({ rawBytes: b64(der) })) },
    validFor,
  });
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: stack.base,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(stack.tlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor,
        },
        logId: { keyId: b64(sha256(stack.tlog.publicKey)) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: stack.base,
        certChain: { certificates: [{ rawBytes: b64(stack.ca.rootCertificate) }] },
        validFor,
      },
    ],
    ctlogs: [
      {
        baseUrl: `${stack.base}/ct`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(stack.ctlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor,
        },
        logId: { keyId: b64(stack.ctlog.logID) },
      },
    ],
    timestampAuthorities: [
      tsaCa(
        `${stack.base}/api/v1/timestamp`,
        { organization: 'sigstore.mock', commonName: 'tsa signing' },
        [stack.tsa.intCertificate, stack.tsa.rootCertificate],
      ),
      tsaCa(
        `${stack.base}/openssl-tsa/api/v1/timestamp`,
        { organization: 'sigctl test', commonName: 'openssl ts' },
        [stack.osslTsa.leafDer, stack.osslTsa.rootDer],
      ),
    ],
  };
}

function signingConfigJson(base, start, tsaUrl) {
  const service = (url) => ({
    url,
    majorApiVersion: 1,
    validFor: { start },
    operator: 'sigctl-test-stack',
  });
  return {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(base)],
    oidcUrls: [service(base)],
    rekorTlogUrls: [service(base)],
    tsaUrls: [service(tsaUrl)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

// ---------------------------------------------------------------- scopes and faults

function freshScope() {
  return {
    faults: Object.fromEntries(SERVICES.map((k) => [k, 'ok'])),
    slowSecs: 60,
    requests: Object.fromEntries(SERVICES.map((k) => [k, 0])),
    // milliseconds from a request's arrival to its answer's last byte, per
    // service (benchmarks subtract the stack's own time from a client's)
    busyMs: Object.fromEntries(SERVICES.map((k) => [k, 0])),
    ghaToken: null, // a JWT /gha returns instead of minting one
    idToken: null, // a JWT /token returns instead of minting one
    claims: {}, // claims added to minted tokens
  };
}

function controlView(s) {
  return {
    url: s.url,
    ...s.faults,
    slow_secs: s.slowSecs,
    requests: s.requests,
    busy_ms: s.busyMs,
    gha_token: s.ghaToken !== null,
    id_token: s.idToken !== null,
    claims: s.claims,
  };
}

function applyControl(stack, name, body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Error('control body must be a JSON object');
  }
  let s = stack.scopes.get(name);
  if (body.reset === true) {
    s = { ...freshScope(), url: s.url };
    stack.scopes.set(name, s);
  }
  for (const [k, v] of Object.entries(body)) {
    if (k === 'reset') continue;
    if (SERVICES.includes(k)) {
      if (!MODES[k].includes(v)) throw new Error(`${k}: mode must be one of ${MODES[k].join(', ')}`);
      s.faults[k] = v;
    } else if (k === 'slow_secs') {
      if (typeof v !== 'number' || !(v >= 0) || v > 3600) throw new Error('slow_secs: a number of seconds, 0..3600');
      s.slowSecs = v;
    } else if (k === 'gha_token' || k === 'id_token') {
      if (v !== null && typeof v !== 'string') throw new Error(`${k}: a JWT or null`);
      if (k === 'gha_token') s.ghaToken = v;
      else s.idToken = v;
    } else if (k === 'claims') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('claims: an object');
      s.claims = v;
    } else {
      throw new Error(`unknown control key ${k}`);
    }
  }
  return s;
}

// Applies the scope's fault for `service`. Returns true when the request is answered.
async function fault(s, service, req, res, garbageType) {
  s.requests[service]++;
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    s.busyMs[service] += Number(process.hrtime.bigint() - started) / 1e6;
  });
  const mode = s.faults[service];
  if (mode === 'down') {
    req.socket.destroy();
    return true;
  }
  if (mode === 'unavailable') {
    send(res, 503, 'application/json', JSON.stringify({ code: 14, message: `${service} is unavailable` }));
    return true;
  }
  if (mode === 'garbage') {
    send(res, 200, garbageType, Buffer.concat([Buffer.from('\x00\xffnot json, not DER <html>'), crypto.randomBytes(16)]));
    return true;
  }
  if (mode === 'slow') {
    await sleep(s.slowSecs * 1000);
    if (req.socket.destroyed) return true;
  }
  return false;
}

// ---------------------------------------------------------------- HTTP

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body over 1 MiB'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(stack, scope, req, res) {
  const s = stack.scopes.get(scope);
  const url = new URL(req.url, s.url);
  const route = url.pathname;
  const prefix = s.url;
  const method = req.method;
  const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);

  if (route === '/scopes' && method === 'POST') {
    let label = 'scope';
    try {
      const parsed = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (typeof parsed.label === 'string' && /^[A-Za-z0-9_.-]{1,60}$/.test(parsed.label)) label = parsed.label;
    } catch (e) {
      return send(res, 400, 'text/plain', `scopes: ${e.message}\n`);
    }
    const name = `${label}-${++stack.nextScope}`;
    const scopeUrl = await listen(stack, 0, name);
    return sendJson(res, 201, { scope: name, url: scopeUrl });
  }

  if (route === '/control') {
    if (method === 'GET') return sendJson(res, 200, controlView(s));
    if (method === 'POST') {
      let parsed;
      try {
        parsed = JSON.parse(body.toString('utf8'));
        return sendJson(res, 200, controlView(applyControl(stack, scope, parsed)));
      } catch (e) {
        return send(res, 400, 'text/plain', `control: ${e.message}\n`);
      }
    }
  }
  if (method === 'POST' && route === '/api/v2/signingCert') {
    if (await fault(s, 'fulcio', req, res, 'application/json')) return;
    return fulcio(stack, s, req, res, body);
  }
  if (method === 'GET' && route === '/api/v2/trustBundle') {
    return sendJson(res, 200, { chains: [{ certificates: [toPem(stack.ca.rootCertificate, 'CERTIFICATE')] }] });
  }
  if (route === '/api/v1/log/entries' || route.startsWith('/api/v1/log/entries/')) {
    if (await fault(s, 'rekor', req, res, 'application/json')) return;
    return rekor(stack, s, req, res, route, url, body);
  }
  if (method === 'POST' && route === '/api/v1/timestamp') {
    if (await fault(s, 'tsa', req, res, 'application/timestamp-reply')) return;
    return mockTimestamp(stack, s, req, res, body);
  }
  if (method === 'POST' && route === '/openssl-tsa/api/v1/timestamp') {
    if (await fault(s, 'openssl_tsa', req, res, 'application/timestamp-reply')) return;
    return opensslTimestamp(stack, s, req, res, body);
  }
  if (route === '/gha' || route === '/auth' || route === '/token' || route === '/keys' ||
      route === '/.well-known/openid-configuration') {
    if (await fault(s, 'oidc', req, res, 'application/json')) return;
    return oidc(stack, s, req, res, route, url, body, prefix);
  }
  return send(res, 404, 'text/plain', `no route ${method} ${route}\n`);
}

// ---------------------------------------------------------------- Fulcio

// The claim the mock reads the certificate's identity from; the wrapper sets it
// per request as real Fulcio chooses the identity.
const SUBJECT_CLAIM = 'x-sigctl-stack-subject';

// Real Fulcio's choice of identity: a verified email, else a GitHub Actions
// workflow URI, else `sub`. Returns [identity, proof-of-possession message].
function fulcioIdentity(claims) {
  if (typeof claims.email === 'string' && claims.email !== '') {
    if (claims.email_verified !== true) throw new HttpError(401, 'email_verified claim is not true');
    return [claims.email, claims.email];
  }
  if (claims.iss === GITHUB_ISSUER && typeof claims.job_workflow_ref === 'string') {
    return [`https://github.com/${claims.job_workflow_ref}`, String(claims.sub)];
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new HttpError(401, 'no sub claim');
  return [claims.sub, claims.sub];
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function fulcio(stack, s, req, res, body) {
  let request;
  try {
    request = JSON.parse(body.toString('utf8'));
    if (request === null || typeof request !== 'object') throw new Error('not an object');
  } catch (e) {
    return sendJson(res, 400, { code: 3, message: `invalid JSON: ${e.message}` });
  }
  try {
    // Adaptation 1: sigstore-python sends the token only as a Bearer header.
    const auth = req.headers.authorization || '';
    const bearer = auth.match(/^Bearer\s+(\S+)$/i);
    const token = (request.credentials && request.credentials.oidcIdentityToken) || (bearer && bearer[1]);
    if (!token) throw new HttpError(401, 'no identity token');
    const claims = decodeJwtClaims(token);
    // What real Fulcio checks in the claims (not the JWT's signature: the mock cannot).
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes('sigstore')) throw new HttpError(401, 'identity token audience is not "sigstore"');
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) throw new HttpError(401, 'identity token expired');
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60) throw new HttpError(401, 'identity token not yet valid');
    if (typeof claims.iss !== 'string' || claims.iss === '') throw new HttpError(401, 'no iss claim');
    const [identity, popMessage] = fulcioIdentity(claims);

    let publicKeyPem;
    if (request.certificateSigningRequest) {
      // Adaptation 2: the CSR comes as base64 of the PEM (protobuf bytes in JSON).
      let csrPem = String(request.certificateSigningRequest);
      if (!csrPem.includes('-----BEGIN')) csrPem = Buffer.from(csrPem, 'base64').toString('utf8');
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      if (!(await csr.verify())) throw new HttpError(400, 'CSR signature does not verify');
      publicKeyPem = csr.publicKey.toString('pem');
    } else if (request.publicKeyRequest && request.publicKeyRequest.publicKey) {
      publicKeyPem = String(request.publicKeyRequest.publicKey.content);
      const pop = Buffer.from(String(request.publicKeyRequest.proofOfPossession || ''), 'base64');
      const key = crypto.createPublicKey(publicKeyPem);
      if (!crypto.verify('sha256', Buffer.from(popMessage), key, pop)) {
        throw new HttpError(400, `proof of possession does not verify over "${popMessage}"`);
      }
    } else {
      throw new HttpError(400, 'neither certificateSigningRequest nor publicKeyRequest');
    }
    if (s.faults.fulcio === 'mismatch') {
      // A certificate for another key than the one the client proved it holds.
      publicKeyPem = newKey().publicKey.export({ format: 'pem', type: 'spki' });
    }
    const forMock = {
      credentials: { oidcIdentityToken: withClaim(token, SUBJECT_CLAIM, identity) },
      publicKeyRequest: { publicKey: { content: publicKeyPem } },
    };
    const out = await stack.fulcioFn(JSON.stringify(forMock));
    if (out.statusCode >= 300) return sendJson(res, out.statusCode, { code: 3, message: String(out.response) });
    return send(res, out.statusCode, 'application/json', out.response);
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 400;
    return sendJson(res, status, { code: status === 401 ? 16 : 3, message: e.message });
  }
}

// The same JWT with one more claim in its payload (its signature no longer
// matches; nothing downstream checks it).
function withClaim(jwt, name, value) {
  const [h, p, sig] = String(jwt).split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  claims[name] = value;
  return `${h}.${b64url(JSON.stringify(claims))}.${sig}`;
}

// ---------------------------------------------------------------- Rekor

function hashedrekordDigest(entry) {
  return entry && entry.spec && entry.spec.data && entry.spec.data.hash;
}

async function rekor(stack, s, req, res, route, url, body) {
  if (req.method === 'GET') {
    let found;
    if (route.startsWith('/api/v1/log/entries/')) {
      const uuid = route.slice('/api/v1/log/entries/'.length).toLowerCase();
      // Real Rekor also accepts the 80-hex entry id (tree id + uuid).
      found = [...stack.entries.entries()].find(([k]) => k === uuid || (uuid.length === 80 && uuid.endsWith(k)));
    } else if (url.searchParams.has('logIndex')) {
      const index = Number(url.searchParams.get('logIndex'));
      found = [...stack.entries.entries()].find(([, v]) => v.logIndex === index);
    }
    if (!found) return sendJson(res, 404, { code: 404, message: 'entry not found' });
    return sendJson(res, 200, { [found[0]]: found[1] });
  }
  if (req.method !== 'POST' || route !== '/api/v1/log/entries') {
    return send(res, 405, 'text/plain', 'method not allowed\n');
  }
  let proposed;
  try {
    proposed = JSON.parse(body.toString('utf8'));
    if (proposed === null || typeof proposed !== 'object') throw new Error('not an object');
  } catch (e) {
    return sendJson(res, 400, { code: 400, message: `invalid JSON: ${e.message}` });
  }
  // Adaptation 5: real Rekor canonicalises the key it stores (Go PEM, LF);
  // the mock would keep CRLF PEM as sent.
  const pk = proposed.spec && proposed.spec.signature && proposed.spec.signature.publicKey;
  if (pk && typeof pk.content === 'string') {
    const pem = Buffer.from(pk.content, 'base64').toString('utf8');
    if (pem.includes('-----BEGIN')) pk.content = b64(canonicalPem(pem));
  }
  if (s.faults.rekor === 'mismatch') {
    // A valid, signed entry, but for another body than the one proposed.
    const hash = hashedrekordDigest(proposed);
    if (hash) hash.value = sha256(crypto.randomBytes(32)).toString('hex');
    else proposed.mismatch = crypto.randomBytes(8).toString('hex');
  }
  const out = await stack.rekorFn(JSON.stringify(proposed));
  if (out.statusCode < 300) {
    for (const [uuid, entry] of Object.entries(JSON.parse(out.response))) stack.entries.set(uuid, entry);
    const uuid = Object.keys(JSON.parse(out.response))[0];
    return send(res, out.statusCode, 'application/json', out.response, {
      Location: `/api/v1/log/entries/${uuid}`,
    });
  }
  return sendJson(res, out.statusCode, { code: out.statusCode, message: String(out.response) });
}

// ---------------------------------------------------------------- TSAs

// Adaptations 3 and 4 on the mock TSA: a DER request's nonce echoed as sent
// (the mock takes a JS number), a whole-second genTime (the mock's has
// milliseconds, which sigstore-rust refuses as non-DER), random serials.
function patchTsa(tsa) {
  tsa.getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  const original = tsa.tstInfo;
  tsa.tstInfo = function tstInfo(req) {
    const info = original.call(this, req);
    if (req.nonceDer) info.nonce = new asn1js.Integer({ valueHex: req.nonceDer });
    else if (req.nonceDer === null) delete info.nonce; // a DER request without one
    info.serialNumber = new asn1js.Integer({ valueHex: Buffer.from(randomSerialHex(16), 'hex') });
    return info;
  };
}

function parseTimeStampReq(der) {
  const req = pkijs.TimeStampReq.fromBER(new Uint8Array(der));
  return req;
}

function isJsonBody(req, body) {
  const type = String(req.headers['content-type'] || '');
  return type.includes('json') || body.subarray(0, 1).toString() === '{';
}

async function mockTimestamp(stack, s, req, res, body) {
  let out;
  if (isJsonBody(req, body)) {
    out = await stack.tsaFn(body.toString('utf8')); // the mock's own JSON request
  } else {
    let tsq;
    try {
      tsq = parseTimeStampReq(body);
    } catch (e) {
      return send(res, 400, 'text/plain', `not a DER TimeStampReq: ${e.message}\n`);
    }
    let hashed = Buffer.from(tsq.messageImprint.hashedMessage.valueBlock.valueHexView);
    if (s.faults.tsa === 'mismatch') hashed = crypto.randomBytes(hashed.length);
    out = await stack.tsa.timestamp({
      artifactHash: hashed,
      hashAlgorithmOID: tsq.messageImprint.hashAlgorithm.algorithmId,
      nonceDer: tsq.nonce ? Buffer.from(tsq.nonce.valueBlock.valueHexView) : null,
      policyOID: tsq.reqPolicy || TSA_POLICY,
      certReq: tsq.certReq === true,
    }).then((der) => ({ statusCode: 200, response: der, contentType: 'application/timestamp-reply' }))
      .catch((e) => ({ statusCode: 400, response: e.message }));
  }
  return send(res, out.statusCode, out.contentType || 'text/plain', out.response);
}

// The real `openssl ts -reply`, one request at a time (it keeps a serial file).
function makeOpensslTsa(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key']);
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), [
    '[req]',
    'distinguished_name = dn',
    '[dn]',
    '[root]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '[leaf]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = critical, timeStamping',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  run(['req', '-new', '-x509', '-key', 'root.key', '-subj', '/O=sigctl test/CN=openssl ts root',
    '-days', '30', '-sha256', '-config', 'ext.cnf', '-extensions', 'root',
    '-set_serial', `0x${randomSerialHex(16)}`, '-out', 'root.pem']);
  run(['req', '-new', '-key', 'leaf.key', '-subj', '/O=sigctl test/CN=openssl ts', '-config', 'ext.cnf',
    '-out', 'leaf.csr']);
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-days', '30', '-sha256',
    '-set_serial', `0x${randomSerialHex(16)}`, '-extfile', 'ext.cnf', '-extensions', 'leaf', '-out', 'leaf.pem']);
  fs.writeFileSync(path.join(dir, 'serial'), '01\n');
  // keyless.md §3.1: sha256 everywhere, whole seconds, and no `certs =` chain
  // (openssl does not DER-sort the certificate SET, and rfc3161-client refuses it).
  fs.writeFileSync(path.join(dir, 'tsa.cnf'), [
    '[tsa]',
    'default_tsa = tsa_config',
    '[tsa_config]',
    `dir = ${dir}`,
    'serial = $dir/serial',
    'crypto_device = builtin',
    'signer_cert = $dir/leaf.pem',
    'signer_key = $dir/leaf.key',
    'signer_digest = sha256',
    `default_policy = ${TSA_POLICY}`,
    'digests = sha256, sha384, sha512',
    'accuracy = secs:1',
    'clock_precision_digits = 0',
    'ordering = yes',
    'tsa_name = yes',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'chain.pem'),
    fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'root.pem'), 'utf8'));
  fs.rmSync(path.join(dir, 'leaf.csr'));
  let queue = Promise.resolve();
  let n = 0;
  return {
    dir,
    leafDer: pemToDer(fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8')),
    rootDer: pemToDer(fs.readFileSync(path.join(dir, 'root.pem'), 'utf8')),
    reply(query) {
      const job = queue.then(() => new Promise((resolve) => {
        const q = path.join(dir, `q${n}.tsq`);
        const r = path.join(dir, `r${n}.tsr`);
        n++;
        fs.writeFileSync(q, query);
        execFile('openssl', ['ts', '-reply', '-config', path.join(dir, 'tsa.cnf'), '-queryfile', q, '-out', r],
          { cwd: dir }, (err, _stdout, stderr) => {
            let result;
            if (err) result = { ok: false, error: String(stderr || err.message) };
            else result = { ok: true, der: fs.readFileSync(r) };
            fs.rmSync(q, { force: true });
            fs.rmSync(r, { force: true });
            resolve(result);
          });
      }));
      queue = job;
      return job;
    },
  };
}

async function opensslTimestamp(stack, s, req, res, body) {
  let query = body;
  let tsq;
  try {
    tsq = parseTimeStampReq(body);
  } catch (e) {
    return send(res, 400, 'text/plain', `not a DER TimeStampReq: ${e.message}\n`);
  }
  if (s.faults.openssl_tsa === 'mismatch') {
    // openssl signs a token over other bytes, nonce and all as asked.
    const len = tsq.messageImprint.hashedMessage.valueBlock.valueHexView.byteLength;
    tsq.messageImprint.hashedMessage = new asn1js.OctetString({ valueHex: crypto.randomBytes(len) });
    query = Buffer.from(tsq.toSchema().toBER(false));
  }
  const out = await stack.osslTsa.reply(query);
  if (!out.ok) return send(res, 400, 'text/plain', `openssl ts -reply failed: ${out.error}\n`);
  return send(res, 200, 'application/timestamp-reply', out.der);
}

// ---------------------------------------------------------------- OIDC

function mint(stack, claims) {
  const header = { alg: 'ES256', typ: 'JWT', kid: stack.oidcKid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: stack.oidcKey.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

function timeClaims() {
  const now = Math.floor(Date.now() / 1000);
  return { iat: now, nbf: now, exp: now + 600 };
}

async function oidc(stack, s, req, res, route, url, body, prefix) {
  const q = url.searchParams;
  if (route === '/.well-known/openid-configuration' && req.method === 'GET') {
    return sendJson(res, 200, {
      issuer: prefix,
      authorization_endpoint: `${prefix}/auth`,
      token_endpoint: `${prefix}/token`,
      jwks_uri: `${prefix}/keys`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      code_challenge_methods_supported: ['S256'],
    });
  }
  if (route === '/keys' && req.method === 'GET') {
    const jwk = stack.oidcKey.publicKey.export({ format: 'jwk' });
    return sendJson(res, 200, { keys: [{ ...jwk, kid: stack.oidcKid, use: 'sig', alg: 'ES256' }] });
  }
  if (route === '/gha' && req.method === 'GET') {
    // GitHub's token endpoint: ACTIONS_ID_TOKEN_REQUEST_TOKEN as a Bearer token.
    if (!/^Bearer\s+\S+$/i.test(req.headers.authorization || '')) {
      return sendJson(res, 401, { message: 'missing ACTIONS_ID_TOKEN_REQUEST_TOKEN bearer' });
    }
    if (s.ghaToken !== null) return sendJson(res, 200, { count: 1, value: s.ghaToken });
    const fromQuery = {};
    for (const [k, v] of q.entries()) if (k !== 'audience' && k !== 'api-version') fromQuery[k] = v;
    const repo = fromQuery.repository || s.claims.repository || 'example/project';
    const ref = fromQuery.ref || s.claims.ref || 'refs/heads/main';
    const claims = {
      iss: GITHUB_ISSUER,
      aud: q.get('audience') || `https://github.com/${repo.split('/')[0]}`,
      sub: `repo:${repo}:ref:${ref}`,
      repository: repo,
      repository_owner: repo.split('/')[0],
      ref,
      sha: '0000000000000000000000000000000000000000',
      workflow: 'release',
      event_name: 'push',
      job_workflow_ref: `${repo}/.github/workflows/release.yml@${ref}`,
      runner_environment: 'github-hosted',
      ...timeClaims(),
      ...s.claims,
      ...fromQuery,
    };
    return sendJson(res, 200, { count: 1, value: mint(stack, claims) });
  }
  if (route === '/auth' && req.method === 'GET') {
    const redirect = q.get('redirect_uri');
    if (!redirect || q.get('response_type') !== 'code') {
      return send(res, 400, 'text/plain', 'redirect_uri and response_type=code are required\n');
    }
    const code = crypto.randomBytes(16).toString('hex');
    stack.codes.set(code, {
      redirect,
      clientId: q.get('client_id') || 'sigstore',
      nonce: q.get('nonce'),
      challenge: q.get('code_challenge'),
      method: q.get('code_challenge_method') || 'plain',
    });
    const to = new URL(redirect);
    to.searchParams.set('code', code);
    if (q.has('state')) to.searchParams.set('state', q.get('state'));
    res.writeHead(302, { Location: to.toString() });
    return res.end();
  }
  if (route === '/token' && req.method === 'POST') {
    const form = new URLSearchParams(body.toString('utf8'));
    const grant = stack.codes.get(form.get('code') || '');
    if (form.get('grant_type') !== 'authorization_code' || !grant) {
      return sendJson(res, 400, { error: 'invalid_grant' });
    }
    stack.codes.delete(form.get('code'));
    if (form.get('redirect_uri') !== grant.redirect) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri' });
    if (grant.challenge) {
      const verifier = form.get('code_verifier') || '';
      const expected = grant.method === 'S256' ? b64url(sha256(Buffer.from(verifier))) : verifier;
      if (expected !== grant.challenge) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
    }
    const idToken = s.idToken !== null ? s.idToken : mint(stack, {
      iss: prefix,
      aud: grant.clientId,
      sub: 'CgVhbGljZRIEdGVzdA',
      email: 'alice@example.com',
      email_verified: true,
      ...(grant.nonce ? { nonce: grant.nonce } : {}),
      ...timeClaims(),
      ...s.claims,
    });
    return sendJson(res, 200, { access_token: crypto.randomBytes(16).toString('hex'), token_type: 'bearer', expires_in: 600, id_token: idToken });
  }
  return send(res, 405, 'text/plain', 'method not allowed\n');
}

main().catch((e) => {
  process.stderr.write(`stack.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
