// The HTTP API: JWT authorizer on every route unless a route says why it is public, access
// logs, and throttling. Routes are added with addRoute("GET /path", fn).
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { IDENTITY_ENV, type IdentityConfig } from '../../lib/http/identity.js';
import { retentionFor } from './app-function.js';

export interface HttpApiProps {
  issuer: string;
  audience: string[];
  /** Which claims of the verified token say who the caller is: every JWT route's function gets it. */
  identity: IdentityConfig;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

export interface RouteOptions {
  /** A public route (no JWT): give the reason, which is also recorded as the nag suppression. */
  publicBecause?: string;
}

export class UpmanHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  private readonly authorizer: HttpJwtAuthorizer;
  private readonly identity: IdentityConfig;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.identity = props.identity;
    this.authorizer = new HttpJwtAuthorizer('Jwt', props.issuer, { jwtAudience: props.audience });
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'upman HTTP API',
      createDefaultStage: false,
      corsPreflight: undefined,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: retentionFor(props.logRetentionDays),
      removalPolicy: props.removalPolicy,
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 100, burstLimit: 200 },
    });
    const cfnStage = stage.node.defaultChild as apigw.CfnStage;
    cfnStage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      // No query string: approval links carry their one-time secret there.
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        time: '$context.requestTime',
        method: '$context.httpMethod',
        route: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
        sub: '$context.authorizer.claims.sub',
      }),
    };
  }

  get url(): string {
    return this.api.apiEndpoint;
  }

  addRoute(routeKey: string, handler: lambda.IFunction, options: RouteOptions = {}): void {
    const [method, path] = routeKey.split(' ') as [string, string];
    const id = routeKey.replace(/[^A-Za-z0-9]/g, '');
    const integration = new HttpLambdaIntegration(`${id}Integration`, handler, {
      timeout: Duration.seconds(29),
    });
    const routes = this.api.addRoutes({
      path,
      methods: [method as apigw.HttpMethod],
      integration,
      ...(options.publicBecause ? {} : { authorizer: this.authorizer }),
    });
    if (!options.publicBecause) {
      if (!(handler instanceof lambda.Function)) throw new Error(`${routeKey}: a JWT route needs a Function`);
      handler.addEnvironment(IDENTITY_ENV, JSON.stringify(this.identity));
    }
    if (options.publicBecause) {
      for (const route of routes) {
        Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: options.publicBecause });
      }
    }
  }
}
