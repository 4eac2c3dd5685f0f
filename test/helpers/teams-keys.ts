/**
 * A stand-in for the Bot Connector's key endpoints, on 127.0.0.1: an OpenID configuration at
 * /openid whose jwks_uri is this server's /keys, with a key set that a test can change, break
 * or take away, and counts of what was fetched. Tokens are minted with keys made here.
 */
import http from 'node:http';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { closeServer } from './http';

export const TEAMS_APP_ID = '8d3c2f1e-6b7a-4c59-9e0d-1f2a3b4c5d6e';
export const BOT_CONNECTOR = 'https://api.botframework.com';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** As a JWKS lists it; `endorsements` names the channels the key may sign for. */
  readonly jwk: Record<string, unknown>;
}

export function signingKey(kid: string, endorsements: string[] = ['msteams']): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', endorsements } };
}

/** A Bot Connector token for `claims` (issuer and audience default to the good ones), signed by `key`. */
export function mint(key: SigningKey, claims: JWTPayload, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ iss: BOT_CONNECTOR, aud: TEAMS_APP_ID, nbf: nowS - 60, exp: nowS + 3600, ...claims }).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export interface KeyServer {
  readonly openIdUrl: string;
  /** What /keys serves (a JWKS document), or a status to answer instead. */
  keys: { keys: unknown[] } | number;
  readonly fetches: { openid: number; keys: number };
  close(): Promise<void>;
}

export async function startKeyServer(keys: KeyServer['keys']): Promise<KeyServer> {
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${port()}`;
    if (req.url === '/openid') {
      state.fetches.openid++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: BOT_CONNECTOR, jwks_uri: `${base}/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/keys') {
      state.fetches.keys++;
      if (typeof state.keys === 'number') res.writeHead(state.keys).end();
      else res.setHeader('content-type', 'application/json').end(JSON.stringify(state.keys));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = () => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  };
  const state: KeyServer = {
    openIdUrl: `http://127.0.0.1:${port()}/openid`,
    keys,
    fetches: { openid: 0, keys: 0 },
    close: () => closeServer(server),
  };
  return state;
}
