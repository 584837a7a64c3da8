// The namespace helpers live in lab/netns.ts (the fault campaign uses them too).
export * from '../../lab/netns';
