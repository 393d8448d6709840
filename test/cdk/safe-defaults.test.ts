// Defaults that fail on AWS are refused outside dev, and mail settings reach the template and the
// local cloud's SES (sandbox unless the stage config says the account has production access).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../cdk/config.js';
import { templateSesRules } from '../../cdk/local/cloud.js';
import type { StackTemplate } from '../../cdk/local/template.js';
import { synthApp } from './synth.js';

const prodConfig = {
  auth: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123', audience: ['client-1'] },
  mail: { sender: 'upman@corp.example' },
};

describe('safe defaults', () => {
  it('refuses the development issuer and the placeholder sender on any stage but dev, naming the field', () => {
    expect(() => loadConfig({ stage: 'prod' })).toThrow(/auth\.issuer is the development issuer/);
    expect(() => loadConfig({ stage: 'prod', config: JSON.stringify({ auth: prodConfig.auth }) })).toThrow(
      /mail\.sender is the placeholder sender/,
    );
    expect(loadConfig({ stage: 'prod', config: JSON.stringify(prodConfig) }).stage).toBe('prod');
    expect(loadConfig({ stage: 'dev' }).auth.issuer).toBe('https://issuer.upman.local/dev');
  });

  it('keeps download keys to 15 minutes at most (the revocation delay), naming the field', () => {
    const ttl = (keyTtlSeconds: number) => () =>
      loadConfig({ stage: 'dev', config: JSON.stringify({ keyTtlSeconds }) });
    expect(loadConfig({ stage: 'dev' }).keyTtlSeconds).toBe(900);
    expect(ttl(600)().keyTtlSeconds).toBe(600);
    expect(ttl(901)).toThrow(/keyTtlSeconds must be an integer between 60 and 900/);
    expect(ttl(3600)).toThrow(/keyTtlSeconds/);
  });

  it('fails the prod synth with the development issuer', () => {
    expect(() => synthApp({ stage: 'prod' })).toThrow(/auth\.issuer/);
  });

  it('keeps the SES sandbox locally unless the stage config says production access; reply-to reaches the functions', () => {
    const asStacks = (s: ReturnType<typeof synthApp>) =>
      [
        { template: s.managementTemplate.toJSON(), stackName: 'm', artifactId: 'm' },
      ] as unknown as StackTemplate[];
    const sandboxed = synthApp();
    expect(templateSesRules(asStacks(sandboxed))).toMatchObject({
      sandbox: true,
      identities: ['upman.example'],
    });
    const production = synthApp({
      config: JSON.stringify({
        mail: { sender: 'upman@corp.example', productionAccess: true, replyTo: ['help@corp.example'] },
      }),
    });
    expect(templateSesRules(asStacks(production))).toMatchObject({
      sandbox: false,
      identities: ['corp.example'],
    });
    const functions = Object.values(production.managementTemplate.findResources('AWS::Lambda::Function'));
    const withMail = functions.filter((f) => f.Properties.Environment?.Variables?.MAIL_SENDER);
    expect(withMail.length).toBeGreaterThan(0);
    for (const f of withMail)
      expect(f.Properties.Environment.Variables.MAIL_REPLY_TO).toBe('help@corp.example');
    expect(() =>
      loadConfig({ config: JSON.stringify({ mail: { sender: 'a@b.example', replyTo: ['nope'] } }) }),
    ).toThrow(/mail\.replyTo\[0\]/);
  });

  it('sends through the configuration set the stage config names, creating none, and refuses a bad name', () => {
    const own = synthApp({
      config: JSON.stringify({ mail: { sender: 'upman@corp.example', configurationSet: 'corp-mail_1' } }),
    });
    own.managementTemplate.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    own.managementTemplate.hasResourceProperties('AWS::SES::EmailIdentity', {
      ConfigurationSetAttributes: { ConfigurationSetName: 'corp-mail_1' },
    });
    const functions = Object.values(own.managementTemplate.findResources('AWS::Lambda::Function'));
    const withMail = functions.filter((f) => f.Properties.Environment?.Variables?.MAIL_SENDER);
    expect(withMail.length).toBeGreaterThan(0);
    for (const f of withMail)
      expect(f.Properties.Environment.Variables.MAIL_CONFIGURATION_SET).toBe('corp-mail_1');
    synthApp().managementTemplate.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    expect(() =>
      loadConfig({
        config: JSON.stringify({ mail: { sender: 'a@b.example', configurationSet: 'has space' } }),
      }),
    ).toThrow(/mail\.configurationSet/);
  });
});
