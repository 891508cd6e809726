import { duplexPackage } from '../../tsdown.base';

export default duplexPackage(['src/index.ts', 'src/chat/index.ts', 'src/notifications/index.ts'], {
  platform: 'neutral',
});
