import { describeConformance } from '../src/jest.js';
import { sqsElasticMq } from '../src/descriptors/sqs.js';

await describeConformance(sqsElasticMq);
