// Types of scripts/build.mjs (plain JavaScript, so that it runs before anything is built).
export interface BuildTarget {
  dir: string;
  outDir: string;
}
export function buildTargets(): BuildTarget[];
export function buildWorkspace(options?: { log?: (line: string) => void }): Promise<{ files: number; packages: number; seconds: number; outDirs: string[] }>;
