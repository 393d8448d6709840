// Who the caller is: the configured claims of the verified bearer token, groups as the token
// lists them, mapped to roles by configured names and never split.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimString } from '../../cdk/local/api/jwt.js';
import {
  callerFromToken,
  DEFAULT_ROLE_GROUPS,
  IDENTITY_PRESETS,
  type IdentityConfig,
  identityConfigFromEnv,
  ROLES,
  verifiedTokenPayload,
} from '../../lib/http/identity.js';
import { bearerOf } from './workflow-helpers.js';

const oidc: IdentityConfig = { claims: { ...IDENTITY_PRESETS.oidc }, roleGroups: DEFAULT_ROLE_GROUPS };
const cognito: IdentityConfig = { claims: { ...IDENTITY_PRESETS.cognito }, roleGroups: DEFAULT_ROLE_GROUPS };

/** What API Gateway hands the function: the header as sent, the claims flattened. */
function request(payload: Record<string, unknown>) {
  const flattened = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, claimString(v)]));
  return { headers: { authorization: bearerOf(payload) }, claims: flattened };
}

const callerOf = (payload: Record<string, unknown>, config = oidc) => {
  const r = request(payload);
  return callerFromToken(verifiedTokenPayload(r.headers, r.claims), config);
};

const base = { iss: 'https://issuer.example', iat: 1_700_000_000, exp: 1_700_003_600 };

describe('callerFromToken', () => {
  it('takes key, login, e-mail, name and groups from a Cognito ID token', () => {
    const caller = callerOf(
      {
        ...base,
        sub: '3f1c2a9e-5b7d-4e2a-9c1f-0a2b3c4d5e6f',
        'cognito:username': 'ando',
        'cognito:groups': ['employees', 'approvers'],
        email: 'ando@corp.example',
        name: 'Ando Hiroshi',
      },
      cognito,
    );
    expect(caller).toEqual({
      user: 'ando',
      login: 'ando',
      email: 'ando@corp.example',
      name: 'Ando Hiroshi',
      groups: ['employees', 'approvers'],
    });
  });

  it('takes sub as the key of a generic OIDC token, and Entra’s oid when configured', () => {
    const payload = {
      ...base,
      sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
      oid: '00000000-0000-0000-66f3-3332eca7ea81',
      preferred_username: 'suzuki@corp.example',
      groups: ['finance'],
    };
    expect(callerOf(payload)).toMatchObject({
      user: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
      login: 'suzuki@corp.example',
      groups: ['finance'],
    });
    const entra = { ...oidc, claims: { ...oidc.claims, key: 'oid' } };
    expect(callerOf(payload, entra).user).toBe('00000000-0000-0000-66f3-3332eca7ea81');
  });

  it('grants no role for groups that only contain a role’s name after splitting', () => {
    for (const groups of [
      ['Sales admins'],
      ['Finance,admins'],
      ['[admins]'],
      ['admins]', '[finance'],
      ['employees approvers'],
      'admins finance',
    ]) {
      expect(callerOf({ ...base, sub: 'mallory', groups }).groups).toEqual([]);
    }
  });

  it('grants exactly the roles whose configured group names the token lists (property)', () => {
    const groupName = fc.oneof(
      fc.constantFrom(...ROLES),
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.constantFrom(...ROLES).map((r) => `x ${r}`),
      fc.constantFrom(...ROLES).map((r) => `${r},${r}`),
      fc.constantFrom(...ROLES).map((r) => `[${r}]`),
    );
    fc.assert(
      fc.property(fc.array(groupName, { maxLength: 6 }), (groups) => {
        const roles = callerOf({ ...base, sub: 'u1', groups }).groups;
        expect(roles).toEqual(ROLES.filter((r) => groups.includes(r)));
      }),
    );
  });

  it('maps roles by the configured group names only', () => {
    const config = {
      ...oidc,
      roleGroups: { ...DEFAULT_ROLE_GROUPS, admins: ['Upman Admins'], auditors: ['Internal Audit'] },
    };
    const caller = callerOf(
      { ...base, sub: 'u1', groups: ['Upman Admins', 'admins', 'Internal Audit'] },
      config,
    );
    expect(caller.groups).toEqual(['admins', 'auditors']);
  });

  it('refuses a token without the key claim', () => {
    expect(() => callerOf({ ...base, sub: 'u1' }, cognito)).toThrow(/cognito:username/);
  });
});

describe('verifiedTokenPayload', () => {
  it('refuses a bearer token that is not the one the authorizer verified', () => {
    const verified = request({ ...base, sub: 'ando', groups: ['employees'] });
    const other = request({ ...base, sub: 'mallory', groups: ['admins'] });
    expect(() => verifiedTokenPayload(other.headers, verified.claims)).toThrow(/Not signed in/);
    const later = request({ ...base, exp: base.exp + 1, sub: 'ando', groups: ['admins'] });
    expect(() => verifiedTokenPayload(later.headers, verified.claims)).toThrow(/Not signed in/);
  });

  it('refuses a request without claims, without a bearer token or with a malformed one', () => {
    const r = request({ ...base, sub: 'ando' });
    expect(() => verifiedTokenPayload(r.headers, undefined)).toThrow(/Not signed in/);
    expect(() => verifiedTokenPayload({}, r.claims)).toThrow(/Not signed in/);
    expect(() => verifiedTokenPayload({ authorization: 'Bearer a.b' }, r.claims)).toThrow(/Not signed in/);
    expect(() => verifiedTokenPayload({ authorization: 'Bearer a.!!!.c' }, r.claims)).toThrow(
      /Not signed in/,
    );
  });

  it('accepts numeric claims flattened either way', () => {
    const r = request({ ...base, sub: 'ando' });
    expect(verifiedTokenPayload(r.headers, { ...r.claims, exp: '1.7000036e+09' })).toMatchObject({
      sub: 'ando',
    });
  });
});

describe('identityConfigFromEnv', () => {
  it('is the generic OIDC preset when unset, and names the bad field otherwise', () => {
    expect(identityConfigFromEnv({})).toEqual(oidc);
    expect(identityConfigFromEnv({ UPMAN_IDENTITY: JSON.stringify(cognito) })).toEqual(cognito);
    expect(() => identityConfigFromEnv({ UPMAN_IDENTITY: '{' })).toThrow(/not JSON/);
    expect(() =>
      identityConfigFromEnv({
        UPMAN_IDENTITY: JSON.stringify({ ...cognito, roleGroups: { ...DEFAULT_ROLE_GROUPS, admins: [] } }),
      }),
    ).toThrow(/roleGroups\.admins/);
  });
});
