import { duplexPackage } from '../../tsdown.base';

export default duplexPackage(
  [
    'src/index.ts',
    'src/webSocketBrowser.ts',
    'src/webSocketNode.ts',
    'src/eventSourceBrowser.ts',
    'src/eventSourceNode.ts',
  ],
  { platform: 'neutral' },
);
