import type { Template } from './cfn-yaml.js';

// The StackSet edition of deploy/cloudformation/spotmax.yaml, derived from it so the two cannot drift:
// `npm run stackset` writes deploy/cloudformation/spotmax-stackset.json and a test fails when the file
// is not what this produces. One template, one parameter set for every account and region of an
// organization (service-managed permissions), so whatever differs per account or region is looked up
// there instead of passed in:
//  - the image: one ECR repository in a tooling account, replicated to every region (ECR replication),
//    named by account, repository and tag; the task pulls from its own region's replica;
//  - the network: the VPC and subnets from SSM parameters each account already publishes (landing
//    zones do; their names are parameters with defaults);
//  - the policies: git-sync from one repository (PolicySource=git-sync), or baked into the one image.
// Everything else is spotmax.yaml unchanged.

export const STACKSET_TEMPLATE = 'deploy/cloudformation/spotmax-stackset.json';

export const IMAGE =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
  '${ImageRegistryAccount}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${ImageRepositoryName}:${ImageTag}';

/** Replaces every `{Ref: ImageUri}` (and `${ImageUri}` in a Sub) with the region's replica of the image. */
function replaceImageRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(replaceImageRefs);
  if (!node || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (obj.Ref === 'ImageUri' && Object.keys(obj).length === 1) return { 'Fn::Sub': IMAGE };
  const out: Record<string, unknown> = {};
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub variable
  const ref = '${ImageUri}';
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'Fn::Sub' && typeof v === 'string' && v.includes(ref)) out[k] = v.replaceAll(ref, IMAGE);
    else out[k] = replaceImageRefs(v);
  }
  return out;
}

export function makeStackSetTemplate(base: Template): Template {
  const tpl = structuredClone(base);
  const { ImageUri: _image, VpcId: _vpc, Subnets: _subnets, ...rest } = tpl.Parameters;
  tpl.Description = `spotmax for every account and region of an organization: the StackSet edition of spotmax.yaml (service-managed permissions; guide: deploy/cloudformation/stackset.md). Generated from spotmax.yaml by \`npm run stackset\`: edit that file, not this one. ${String(base.Description ?? '')}`;
  tpl.Parameters = {
    ImageRegistryAccount: {
      Type: 'String',
      AllowedPattern: '^[0-9]{12}$',
      ConstraintDescription: 'the 12-digit account that holds the spotmax ECR repository',
      Description:
        'The account whose ECR repository holds the spotmax image, replicated to every region the StackSet deploys to (its repository policy lets the organization pull: aws:PrincipalOrgID).',
    },
    ImageRepositoryName: {
      Type: 'String',
      Default: 'spotmax',
      Description: 'The ECR repository (the same name in every region: ECR replication keeps it).',
    },
    ImageTag: {
      Type: 'String',
      AllowedPattern: '.+',
      Description:
        'The image tag to run, e.g. 0.1.0. Changing it on the StackSet is how the whole organization upgrades (and rolls back).',
    },
    VpcId: {
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>',
      Default: '/spotmax/network/vpc-id',
      Description:
        'The SSM parameter (in each target account and region) that holds the VPC id for the task, e.g. one your landing zone publishes.',
    },
    Subnets: {
      Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>',
      Default: '/spotmax/network/subnet-ids',
      Description:
        'The SSM parameter (StringList, in each target account and region) that holds the subnets for the task; private subnets need NAT or VPC endpoints.',
    },
    ...rest,
  };
  const meta = tpl.Metadata as
    | { 'AWS::CloudFormation::Interface'?: { ParameterGroups?: { Parameters: string[] }[] } }
    | undefined;
  for (const group of meta?.['AWS::CloudFormation::Interface']?.ParameterGroups ?? [])
    group.Parameters = group.Parameters.flatMap((p) =>
      p === 'ImageUri' ? ['ImageRegistryAccount', 'ImageRepositoryName', 'ImageTag'] : [p],
    );
  tpl.Resources = replaceImageRefs(tpl.Resources) as Template['Resources'];
  tpl.Outputs = replaceImageRefs(tpl.Outputs) as Template['Outputs'];
  if (tpl.Rules) tpl.Rules = replaceImageRefs(tpl.Rules);
  return tpl;
}

/** The file's text: two-space JSON, the key order of spotmax.yaml. */
export function stackSetTemplateText(base: Template): string {
  return `${JSON.stringify(makeStackSetTemplate(base), null, 2)}\n`;
}
