// Salamander's public entry point.
export { Stack, StackError } from './api/stack';
export type { StackEvents } from './api/stack';
export { validateStackConfig, StackConfigError } from './api/config';
export type { StackConfig, StackLinkConfig, StackRouteConfig, LinkType } from './api/config';
export { Supervisor, SupervisorError } from './supervisor/supervisor';
export type { SupervisorOptions, SupervisorEvents, ExitInfo } from './supervisor/supervisor';
export { InlinePipeline } from './base/inline';
export type { PipelineSpec, ActorSpec, LinkSpec, FaultKind, RestartPolicy } from './base/types';
export type { ActorCore, ActorContext, ActorFactory } from './base/actor';
export { registerKind } from './base/registry';
