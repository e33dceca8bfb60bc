// Writes deploy/cloudformation/spotmax-stackset.json from spotmax.yaml: `npm run stackset`.
import { writeFileSync } from 'node:fs';
import { readTemplate } from '../test/deploy/cfn-yaml.js';
import { STACKSET_TEMPLATE, stackSetTemplateText } from '../test/deploy/stackset-template.js';

writeFileSync(STACKSET_TEMPLATE, stackSetTemplateText(readTemplate('deploy/cloudformation/spotmax.yaml')));
process.stdout.write(`wrote ${STACKSET_TEMPLATE}\n`);
