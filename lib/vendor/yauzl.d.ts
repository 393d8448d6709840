// yauzl ships no types; package.ts declares the few members it uses where it uses them.
declare module 'yauzl';
