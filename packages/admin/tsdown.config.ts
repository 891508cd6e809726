import { duplexPackage } from '../../tsdown.base';

export default duplexPackage(['src/index.ts']);
