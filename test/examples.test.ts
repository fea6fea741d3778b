/** The example files the README tells people to use stay valid. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { splitHl7Messages } from '../src/hl7/read-ack.ts';
import hl7v2Pcd from '../adapters/hl7v2-pcd/index.ts';

describe('examples/', () => {
  it('serial-demo.yaml is a valid gateway config with the four serial devices', async () => {
    const loaded = await loadConfig({ file: 'examples/serial-demo.yaml', env: {} });
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
  });

  it('philips-monitor.hl7 parses and normalizes without errors', async () => {
    const [message] = splitHl7Messages(await readFile('examples/philips-monitor.hl7', 'utf8'));
    const config = hl7v2Pcd.config.parse({});
    const normalized = hl7v2Pcd.normalize(hl7v2Pcd.parse(Buffer.from(message ?? '')), { config, receivedAt: new Date() });
    expect(normalized.resources.filter((r) => r.resource.resourceType === 'Observation')).toHaveLength(4);
  });
});
