// SES sending: the sender's domain identity and a configuration set that keeps bounces and
// complaints out of the sender reputation (suppression list) and requires TLS, unless the
// organisation names one of its own.

import { Stack } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { SES_PRODUCTION_ACCESS } from '../config.js';

export interface MailerProps {
  sender: string;
  replyTo?: string[];
  /** The account has left the SES sandbox; recorded on the identity for the local cloud's SES. */
  productionAccess?: boolean;
  /** An existing configuration set to use instead of creating one. */
  configurationSetName?: string;
}

export class Mailer extends Construct {
  readonly identity: ses.EmailIdentity;
  readonly configurationSet: ses.IConfigurationSet;
  readonly sender: string;
  readonly replyTo: string[];

  constructor(scope: Construct, id: string, props: MailerProps) {
    super(scope, id);
    this.sender = props.sender;
    this.replyTo = props.replyTo ?? [];
    const domain = props.sender.split('@')[1]!;
    this.configurationSet = props.configurationSetName
      ? ses.ConfigurationSet.fromConfigurationSetName(this, 'ConfigurationSet', props.configurationSetName)
      : new ses.ConfigurationSet(this, 'ConfigurationSet', {
          tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
          suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
          reputationMetrics: true,
          sendingEnabled: true,
        });
    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: ses.Identity.domain(domain),
      configurationSet: this.configurationSet,
    });
    (this.identity.node.defaultChild as ses.CfnEmailIdentity).addMetadata(
      SES_PRODUCTION_ACCESS,
      props.productionAccess === true,
    );
  }

  /** What AppFunction.bindMail needs. */
  get binding() {
    const stack = Stack.of(this);
    return {
      identityArn: stack.formatArn({
        service: 'ses',
        resource: 'identity',
        resourceName: this.identity.emailIdentityName,
      }),
      configurationSetArn: stack.formatArn({
        service: 'ses',
        resource: 'configuration-set',
        resourceName: this.configurationSet.configurationSetName,
      }),
      configurationSetName: this.configurationSet.configurationSetName,
      sender: this.sender,
      replyTo: this.replyTo,
    };
  }
}
