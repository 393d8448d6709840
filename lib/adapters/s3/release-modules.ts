// Announcements' module filter (docs/registry.md "Announcements") from the vendor's release
// manifest (<software>/manifest.json, lib/vendor/manifest.ts): which revisions hold a file under
// a path prefix. The manifest is read once per lookup, so one announcement costs one GET per
// software however many installations it reaches.
import type { ModuleLookup, ReleaseModules } from '../../ports/registry-announcements.js';
import type { Revision } from '../../registry/model.js';
import type { Manifest } from '../../vendor/manifest.js';
import type { ManifestReader } from './releases.js';

/** Per revision: whether any of its files lies under `module` (a plain path prefix). */
export function moduleLookupOf(manifest: Manifest | undefined, module: string): ModuleLookup {
  const byRevision = new Map<number, boolean>();
  for (const r of manifest?.releases ?? []) {
    byRevision.set(
      r.revision,
      r.files.some((f) => typeof f?.path === 'string' && f.path.startsWith(module)),
    );
  }
  return (revision: Revision) => {
    // The registry keeps what the agent reported; the manifest numbers revisions 1, 2, …
    const n = typeof revision === 'number' ? revision : /^\d{1,9}$/.test(revision) ? Number(revision) : NaN;
    return byRevision.get(n);
  };
}

export class ManifestReleaseModules implements ReleaseModules {
  constructor(private readonly manifests: ManifestReader) {}

  async moduleLookup(software: string, module: string): Promise<ModuleLookup> {
    return moduleLookupOf(await this.manifests.readManifest(software), module);
  }
}
