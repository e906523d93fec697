// A wallet built from third-party libraries (@openid4vc/openid4vp for the
// protocol, @sd-jwt/sd-jwt-vc for the presentation), run as its own Node
// process because those packages are ESM-only. Input: one JSON argument;
// output: one JSON line with what the verifier answered.
//
// { walletUrl, credential, holderPrivateJwk, disclose, trustedRootPem?, hostMap?,
//   requestUriMethodPost?, tamper?: { nonce?, aud?, dropKb?, iatOffset? }, queryId?,
//   viaLoopback?: { localAddress } }
import { createHash, X509Certificate, webcrypto } from 'node:crypto';
import {
  createOpenid4vpAuthorizationResponse,
  parseOpenid4vpAuthorizationRequest,
  resolveOpenid4vpAuthorizationRequest,
  submitOpenid4vpAuthorizationResponse,
} from '@openid4vc/openid4vp';
import { setGlobalConfig } from '@openid4vc/oauth2';
import { digest, ES256, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { CompactEncrypt, compactVerify, importJWK, importX509, SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

const input = JSON.parse(process.argv[2]);
// `viaLoopback`: the verifier is behind the local cluster's proxy under a *.localhost name, which
// resolves to 127.0.0.1 here (never through DNS); requests leave from `localAddress` (a client address of its own).
const dispatcher = input.viaLoopback
  ? new Agent({
      localAddress: input.viaLoopback.localAddress,
      connect: {
        lookup: (hostname, options, callback) => {
          const done = typeof options === 'function' ? options : callback;
          const all = typeof options === 'object' && options?.all;
          if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) return done(Object.assign(new Error(`${hostname} is not *.localhost`), { code: 'ENOTFOUND' }));
          return all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4);
        },
      },
    })
  : undefined;
// The verifier under test listens on plain http on loopback.
setGlobalConfig({ allowInsecureUrls: true });

function jwkFromDidJwk(didUrl) {
  const did = didUrl.split('#')[0];
  return JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url').toString('utf8'));
}

const callbacks = {
  hash: (data, alg) => new Uint8Array(createHash(alg.replace('-', '').toLowerCase()).update(data).digest()),
  // `hostMap` sends requests for the verifier's public origin (behind "TLS termination") to where it listens.
  fetch: (url, init) => {
    let target = String(url);
    for (const [from, to] of Object.entries(input.hostMap ?? {})) if (target.startsWith(from)) target = to + target.slice(from.length);
    return dispatcher ? undiciFetch(target, { ...init, dispatcher }) : fetch(target, init);
  },
  getX509CertificateMetadata: (certificate) => {
    const cert = new X509Certificate(Buffer.from(certificate, 'base64'));
    const names = (cert.subjectAltName ?? '').split(/,\s*/);
    return {
      sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
      sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
    };
  },
  verifyJwt: async (signer, jwt) => {
    let key;
    let signerJwk;
    if (signer.method === 'did') {
      signerJwk = jwkFromDidJwk(signer.didUrl);
      key = await importJWK(signerJwk, signer.alg);
    } else if (signer.method === 'x5c') {
      const leaf = new X509Certificate(Buffer.from(signer.x5c[0], 'base64'));
      if (input.trustedRootPem) {
        // The chain must lead to the root the wallet trusts.
        const chain = signer.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
        const root = new X509Certificate(input.trustedRootPem);
        const last = chain[chain.length - 1];
        const chained = chain.every((c, i) => i === chain.length - 1 || c.verify(chain[i + 1].publicKey));
        if (!chained || !last.verify(root.publicKey)) return { verified: false };
      }
      key = await importX509(leaf.toString(), signer.alg);
      signerJwk = leaf.publicKey.export({ format: 'jwk' });
    } else if (signer.method === 'jwk') {
      signerJwk = signer.publicJwk;
      key = await importJWK(signerJwk, signer.alg);
    } else {
      return { verified: false };
    }
    try {
      await compactVerify(jwt.compact, key);
      return { verified: true, signerJwk };
    } catch {
      return { verified: false, signerJwk };
    }
  },
  encryptJwe: async (encryptor, data) => {
    const key = await importJWK(encryptor.publicJwk, 'ECDH-ES');
    const encrypt = new CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader({
      alg: 'ECDH-ES',
      enc: encryptor.enc,
      kid: encryptor.publicJwk.kid,
    });
    // jose writes apu/apv into the header itself and uses them in the key derivation.
    const parameters = {};
    if (encryptor.apu) parameters.apu = Buffer.from(encryptor.apu, 'base64url');
    if (encryptor.apv) parameters.apv = Buffer.from(encryptor.apv, 'base64url');
    const jwe = await encrypt.setKeyManagementParameters(parameters).encrypt(key);
    return { jwe, encryptionJwk: encryptor.publicJwk };
  },
  generateRandom: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
};

async function main() {
  const parsed = parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.walletUrl });
  const walletNonce = input.requestUriMethodPost ? Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('base64url') : undefined;
  const resolved = await resolveOpenid4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
    ...(walletNonce ? { wallet: { nonce: walletNonce, metadata: {} } } : {}),
    callbacks,
  });
  const request = resolved.authorizationRequestPayload;

  if (input.jwtVc) {
    // A W3C VP in JWT form (jwt_vc_json), signed with the holder's did:jwk key (jose does the signing).
    const { credential, holderPrivateJwk, holderDid } = input.jwtVc;
    const vp = await new SignJWT({ nonce: request.nonce, vp: { type: ['VerifiablePresentation'], verifiableCredential: [credential] } })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: `${holderDid}#0` })
      .setIssuer(holderDid)
      .setAudience(request.client_id)
      .setIssuedAt()
      .sign(await importJWK(holderPrivateJwk, 'ES256'));
    const queryId = request.dcql_query.credentials[0].id;
    const response = await createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token: { [queryId]: [vp] } },
      callbacks,
    });
    const submitted = await submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: response.authorizationResponsePayload,
      callbacks,
    });
    const text = await submitted.response.text();
    process.stdout.write(`${JSON.stringify({ status: submitted.response.status, body: JSON.parse(text || '{}'), clientId: request.client_id })}\n`);
    return;
  }

  const holder = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    kbSigner: await ES256.getSigner(input.holderPrivateJwk),
    kbSignAlg: ES256.alg,
  });
  const tamper = input.tamper ?? {};
  let presentation = await holder.present(input.credential, input.disclose, {
    kb: {
      payload: {
        iat: Math.floor(Date.now() / 1000) + (tamper.iatOffset ?? 0),
        aud: tamper.aud ?? request.client_id,
        nonce: tamper.nonce ?? request.nonce,
      },
    },
  });
  if (tamper.dropKb) presentation = presentation.slice(0, presentation.lastIndexOf('~') + 1);
  let responsePayload;
  if (request.presentation_definition) {
    // Presentation Exchange: one presentation, mapped to the first input descriptor.
    const definition = request.presentation_definition;
    responsePayload = {
      vp_token: presentation,
      presentation_submission: {
        id: 'submission-1',
        definition_id: input.definitionId ?? definition.id,
        descriptor_map: [{ id: input.queryId ?? definition.input_descriptors[0].id, format: 'vc+sd-jwt', path: '$' }],
      },
    };
  } else {
    const queryId = input.queryId ?? request.dcql_query.credentials[0].id;
    responsePayload = { vp_token: { [queryId]: [presentation] } };
  }

  const response = await createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: responsePayload,
    ...(request.response_mode === 'direct_post.jwt'
      ? {
          jarm: {
            encryption: { nonce: request.nonce },
            serverMetadata: {
              authorization_signing_alg_values_supported: [],
              authorization_encryption_alg_values_supported: ['ECDH-ES'],
              authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
            },
          },
        }
      : {}),
    callbacks,
  });
  const submitted = await submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    ...(response.jarm ? { jarm: { responseJwt: response.jarm.responseJwt } } : {}),
    callbacks,
  });
  const text = await submitted.response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  process.stdout.write(
    `${JSON.stringify({
      status: submitted.response.status,
      body,
      clientId: request.client_id,
      responseMode: request.response_mode,
      jar: resolved.jar ? { signer: resolved.jar.signer?.method ?? null } : null,
      walletNonceSent: Boolean(walletNonce),
    })}\n`,
  );
}

main()
  .then(() => dispatcher?.close())
  .catch((error) => {
    process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error), details: error?.errorMessages ?? error?.cause?.message })}\n`);
    process.exit(2);
  });
