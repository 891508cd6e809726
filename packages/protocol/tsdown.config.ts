import { duplexPackage } from '../../tsdown.base';

export default duplexPackage(['src/index.ts', 'src/internal.ts'], { platform: 'neutral' });
