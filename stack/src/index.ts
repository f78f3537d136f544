export { startStack, type RunningStack } from './stack/start-stack.js';
export { StackConfig } from './config/stack-config.js';
