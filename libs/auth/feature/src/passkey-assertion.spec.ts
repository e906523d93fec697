import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { constants, createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { verifyPasskeyAssertion, type AssertionResponse } from './passkey-assertion';

// Differential test: our login check must give @simplewebauthn/server's answer
// (accept or refuse, and the new counter) on valid assertions and on each kind
// of tampering, for every key type passkeys use.

const RP_ID = 'wallet.example';
const ORIGINS = ['https://wallet.example', 'https://app.wallet.example'];
const CHALLENGE = randomBytes(32).toString('base64url');
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64u = (data: Buffer) => data.toString('base64url');

interface TestKey {
  name: string;
  privateKey: KeyObject;
  cose: Buffer;
  sign(data: Buffer): Buffer;
}

function coseKey(alg: number, publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const bytes = (value: string | undefined) => new Uint8Array(Buffer.from(value!, 'base64url'));
  const map = new Map<number, number | Uint8Array>();
  if (jwk.kty === 'EC') {
    map.set(1, 2).set(3, alg).set(-1, 1).set(-2, bytes(jwk.x)).set(-3, bytes(jwk.y));
  } else if (jwk.kty === 'OKP') {
    map.set(1, 1).set(3, alg).set(-1, 6).set(-2, bytes(jwk.x));
  } else {
    map.set(1, 3).set(3, alg).set(-1, bytes(jwk.n)).set(-2, bytes(jwk.e));
  }
  return Buffer.from(isoCBOR.encode(map as never));
}

function testKeys(): TestKey[] {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return [
    { name: 'ES256', privateKey: ec.privateKey, cose: coseKey(-7, ec.publicKey), sign: (d) => sign('sha256', d, ec.privateKey) },
    { name: 'EdDSA', privateKey: ed.privateKey, cose: coseKey(-8, ed.publicKey), sign: (d) => sign(null, d, ed.privateKey) },
    { name: 'RS256', privateKey: rsa.privateKey, cose: coseKey(-257, rsa.publicKey), sign: (d) => sign('sha256', d, rsa.privateKey) },
    {
      name: 'PS256',
      privateKey: rsa.privateKey,
      cose: coseKey(-37, rsa.publicKey),
      sign: (d) => sign('sha256', d, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    },
  ];
}

interface Variant {
  flags?: number;
  counter?: number;
  rpId?: string;
  clientData?: Record<string, unknown>;
  /** Changes applied after signing. */
  after?: (r: AssertionResponse) => void;
  signWith?: (data: Buffer) => Buffer;
  trailing?: Buffer;
}

function assertion(key: TestKey, variant: Variant = {}): AssertionResponse {
  const id = b64u(randomBytes(16));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(variant.counter ?? 7);
  const authData = Buffer.concat([sha256(variant.rpId ?? RP_ID), Buffer.from([variant.flags ?? 0x05]), counter, variant.trailing ?? Buffer.alloc(0)]);
  const clientData = Buffer.from(
    JSON.stringify({ type: 'webauthn.get', challenge: CHALLENGE, origin: ORIGINS[0], crossOrigin: false, ...variant.clientData }),
  );
  const signature = (variant.signWith ?? key.sign)(Buffer.concat([authData, sha256(clientData)]));
  const response: AssertionResponse = {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: b64u(clientData), authenticatorData: b64u(authData), signature: b64u(signature), userHandle: null },
  };
  variant.after?.(response);
  return response;
}

async function outcome(run: () => Promise<{ newCounter: number } | false>): Promise<string> {
  try {
    const result = await run();
    return result ? `accepted, counter ${result.newCounter}` : 'refused';
  } catch {
    return 'refused';
  }
}

async function both(key: TestKey, response: AssertionResponse, storedCounter = 0): Promise<{ ours: string; reference: string }> {
  const reference = await outcome(async () => {
    const result = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: CHALLENGE,
      expectedOrigin: ORIGINS,
      expectedRPID: RP_ID,
      requireUserVerification: true,
      credential: { id: response.id, publicKey: new Uint8Array(key.cose), counter: storedCounter },
    });
    return result.verified ? { newCounter: result.authenticationInfo.newCounter } : false;
  });
  const ours = await outcome(() =>
    verifyPasskeyAssertion(response, { challenge: CHALLENGE, origins: ORIGINS, rpId: RP_ID, credential: { publicKey: b64u(key.cose), counter: storedCounter } }),
  );
  return { ours, reference };
}

const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const CASES: Array<[string, Variant, number?]> = [
  ['a valid assertion', {}],
  ['a valid assertion from the second allowed origin', { clientData: { origin: ORIGINS[1] } }],
  ['a valid assertion with a backed-up multi-device credential', { flags: 0x1d }],
  ['a valid assertion with counters at zero', { counter: 0 }, 0],
  ['a valid assertion with a counter that moved forward', { counter: 11 }, 10],
  ['a counter that went backwards', { counter: 5 }, 10],
  ['a counter that did not move', { counter: 10 }, 10],
  ['another challenge', { clientData: { challenge: randomBytes(32).toString('base64url') } }],
  ['another origin', { clientData: { origin: 'https://evil.example' } }],
  ['a registration client data type', { clientData: { type: 'webauthn.create' } }],
  ['another RP id', { rpId: 'evil.example' }],
  ['no user presence', { flags: 0x04 }],
  ['no user verification', { flags: 0x01 }],
  ['backed up but not backup-eligible', { flags: 0x15 }],
  ['an unknown token binding status', { clientData: { tokenBinding: { status: 'maybe' } } }],
  ['trailing bytes after the authenticator data', { trailing: Buffer.from([1, 2, 3]) }],
  ['a signature by another key', { signWith: (d) => sign('sha256', d, other.privateKey) }],
  ['a corrupted signature', { after: (r) => void (r.response.signature = b64u(Buffer.from('garbage that is no signature'))) }],
  ['an empty signature', { after: (r) => void (r.response.signature = '') }],
  [
    'authenticator data changed after signing (counter)',
    { after: (r) => void (r.response.authenticatorData = b64u(Buffer.concat([Buffer.from(r.response.authenticatorData, 'base64url').subarray(0, 33), Buffer.from([0, 0, 0, 99])]))) },
  ],
  [
    'client data changed after signing',
    { after: (r) => void (r.response.clientDataJSON = b64u(Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: CHALLENGE, origin: ORIGINS[0], extra: 1 })))) },
  ],
  ['an id that differs from rawId', { after: (r) => void (r.rawId = b64u(randomBytes(16))) }],
  ['a credential type other than public-key', { after: (r) => void (r.type = 'password') }],
  ['client data that is not JSON', { after: (r) => void (r.response.clientDataJSON = b64u(Buffer.from('not json'))) }],
];

describe.each(testKeys().map((k) => [k.name, k] as const))('passkey assertion (%s) agrees with @simplewebauthn/server', (_name, key) => {
  // Always three values: a test function of arity three given two would receive Jest's `done`.
  it.each(CASES.map(([name, variant, stored]) => [name, variant, stored ?? 0] as const))('on %s', async (_case, variant, storedCounter) => {
    const { ours, reference } = await both(key, assertion(key, variant), storedCounter);
    expect(ours).toBe(reference);
  });

  it('accepts exactly the valid cases', async () => {
    const accepted: string[] = [];
    for (const [name, variant, stored] of CASES) {
      if ((await both(key, assertion(key, variant), stored ?? 0)).ours.startsWith('accepted')) accepted.push(name);
    }
    expect(accepted).toEqual(CASES.filter(([name]) => name.startsWith('a valid')).map(([name]) => name));
  });
});

describe('passkey assertion errors', () => {
  it('names the failed check without echoing the signature', async () => {
    const [key] = testKeys();
    const response = assertion(key!, { clientData: { origin: 'https://evil.example' } });
    const stored = { publicKey: b64u(key!.cose), counter: 0 };
    await expect(verifyPasskeyAssertion(response, { challenge: CHALLENGE, origins: ORIGINS, rpId: RP_ID, credential: stored })).rejects.toThrow(
      /Unexpected authentication response origin "https:\/\/evil.example"/,
    );
    const regressed = assertion(key!, { counter: 3 });
    await expect(
      verifyPasskeyAssertion(regressed, { challenge: CHALLENGE, origins: ORIGINS, rpId: RP_ID, credential: { ...stored, counter: 9 } }),
    ).rejects.toThrow(/counter value 3 was lower than expected 9/);
    const forged = assertion(key!, { signWith: (d) => sign('sha256', d, other.privateKey) });
    const error = await verifyPasskeyAssertion(forged, { challenge: CHALLENGE, origins: ORIGINS, rpId: RP_ID, credential: stored }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(forged.response.signature);
  });
});
