import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTargetList } from '../src/dcgm/targets.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function sdFile(): { path: string; write(text: string, mtimeSec: number): void } {
  const dir = mkdtempSync(join(tmpdir(), 'fw-sd-'));
  dirs.push(dir);
  const path = join(dir, 'dcgm.json');
  return {
    path,
    write(text, mtimeSec) {
      writeFileSync(path, text);
      utimesSync(path, mtimeSec, mtimeSec);
    },
  };
}

describe('createTargetList', () => {
  it('merges static URLs with file_sd targets, honouring __scheme__ and __metrics_path__, and re-reads the file when it changes', () => {
    const sd = sdFile();
    sd.write(JSON.stringify([{ targets: ['gpu-1:9400', 'gpu-2:9400'], labels: { cluster: 'a' } }, { targets: ['gpu-3:9443'], labels: { __scheme__: 'https', __metrics_path__: '/dcgm' } }]), 1_000);
    const list = createTargetList({ urls: ['http://static:9400/metrics', 'gpu-1:9400'], fileSd: sd.path, log: pino({ level: 'silent' }) });
    expect(list.current()).toEqual(['http://static:9400/metrics', 'http://gpu-1:9400/metrics', 'http://gpu-2:9400/metrics', 'https://gpu-3:9443/dcgm']);
    sd.write('- targets: [gpu-9:9400]\n', 2_000); // YAML, as file_sd also allows
    expect(list.current()).toEqual(['http://static:9400/metrics', 'http://gpu-1:9400/metrics', 'http://gpu-9:9400/metrics']);
  });

  it('keeps the previous targets when the file is half-written or gone', () => {
    const sd = sdFile();
    sd.write('[{"targets": ["gpu-1:9400"]}]', 1_000);
    let errors = 0;
    const list = createTargetList({ urls: [], fileSd: sd.path, log: pino({ level: 'silent' }), onFileError: () => errors++ });
    expect(list.current()).toEqual(['http://gpu-1:9400/metrics']);
    sd.write('[{"targets": ["gpu-', 2_000);
    expect(list.current()).toEqual(['http://gpu-1:9400/metrics']);
    rmSync(sd.path);
    expect(list.current()).toEqual(['http://gpu-1:9400/metrics']);
    expect(errors).toBe(2);
  });
});
