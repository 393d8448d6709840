// Identity by configuration in the synthesized app: the stage config's preset and overrides
// reach every function behind the JWT authorizer, and a bad identity setting fails the synth
// naming the field.
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { identityOf, loadConfig } from '../../cdk/config.js';
import { DEFAULT_ROLE_GROUPS, IDENTITY_PRESETS } from '../../lib/http/identity.js';
import { synthApp } from './synth.js';

/** UPMAN_IDENTITY of the function behind each route, by route key (undefined when unset). */
function identityByRoute(template: Template): Map<string, { jwt: boolean; identity: unknown }> {
  const routes = template.findResources('AWS::ApiGatewayV2::Route');
  const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
  const functions = template.findResources('AWS::Lambda::Function');
  const out = new Map<string, { jwt: boolean; identity: unknown }>();
  for (const route of Object.values(routes)) {
    const target = JSON.stringify(route.Properties.Target);
    const integrationId = Object.keys(integrations).find((id) => target.includes(id))!;
    const uri = JSON.stringify(integrations[integrationId]!.Properties.IntegrationUri);
    const fnId = Object.keys(functions).find((id) => uri.includes(`"${id}"`))!;
    const raw = functions[fnId]!.Properties.Environment?.Variables?.UPMAN_IDENTITY;
    out.set(String(route.Properties.RouteKey), {
      jwt: route.Properties.AuthorizationType === 'JWT',
      identity: raw === undefined ? undefined : JSON.parse(raw),
    });
  }
  return out;
}

describe('identity configuration', () => {
  it('gives every JWT route’s function the generic OIDC preset on the dev stage', () => {
    const routes = identityByRoute(synthApp().managementTemplate);
    expect(routes.size).toBeGreaterThan(10);
    for (const [routeKey, { jwt, identity }] of routes) {
      if (!jwt) continue;
      expect(identity, routeKey).toEqual({ claims: IDENTITY_PRESETS.oidc, roleGroups: DEFAULT_ROLE_GROUPS });
    }
  });

  it('carries the Cognito preset, a key override (Entra’s oid) and role group names from the config', () => {
    const config = {
      identity: { preset: 'oidc', claims: { key: 'oid' }, roleGroups: { admins: ['Upman Admins'] } },
    };
    const routes = identityByRoute(synthApp({ config: JSON.stringify(config) }).managementTemplate);
    expect(routes.get('GET /me')?.identity).toEqual({
      claims: { ...IDENTITY_PRESETS.oidc, key: 'oid' },
      roleGroups: { ...DEFAULT_ROLE_GROUPS, admins: ['Upman Admins'] },
    });
    const cognito = loadConfig({ config: JSON.stringify({ identity: { preset: 'cognito' } }) });
    expect(identityOf(cognito).claims).toEqual({
      key: 'cognito:username',
      login: 'cognito:username',
      email: 'email',
      name: 'name',
      groups: 'cognito:groups',
    });
  });

  it('fails on a bad identity setting, naming the field', () => {
    const load = (identity: unknown) => () => loadConfig({ config: JSON.stringify({ identity }) });
    expect(load({ preset: 'okta' })).toThrow(/identity\.preset/);
    expect(load({ preset: 'oidc', claims: { key: '' } })).toThrow(/identity\.claims\.key/);
    expect(load({ preset: 'oidc', roleGroups: { finance: [] } })).toThrow(/identity\.roleGroups\.finance/);
  });
});
